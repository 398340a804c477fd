"""The unit of work every service is built on."""
