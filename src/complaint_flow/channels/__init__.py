"""Channel adapters: reading inbound messages and sending replies (email, web form, letters).

Each module does one channel's job and depends only on the model and definitions;
the services (``complaint_flow.services``) put them to work on the kernel.
"""
