"""Writes ``similar_complaints.jsonl``: labelled complaints for the similarity statistics.

Run from anywhere: ``python tests/data/make_similar_complaints.py``. The output is the
same on every run (a fixed seed, no dependency beyond the standard library), so the
committed file can be checked against a fresh one.

Each line is one complaint: ``id``, ``customer``, ``received_at`` (ISO, UTC),
``language``, ``text`` and ``group``. Complaints with the same ``group`` report the
same problem in the same language, written by different customers: paraphrases of a
few core sentences with different openings, closings, order numbers, typos and
noise. ``group`` is ``null`` for a complaint about a problem nobody else has. Some
groups are deliberately close to each other (the same product, another fault) so
that precision means something. Translations of one problem are different groups:
character n-grams do not cross languages.
"""

# ruff: noqa: RUF001 (the Russian and Belarusian texts are meant to be Cyrillic)
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20260311
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
OUTPUT = Path(__file__).with_name("similar_complaints.jsonl")

OPENINGS = {
    "en": [
        "Hello,",
        "Hi,",
        "Dear customer service,",
        "Good morning,",
        "To whom it may concern,",
        "",
    ],
    "fr": ["Bonjour,", "Madame, Monsieur,", "Bonsoir,", "Chère équipe,", ""],
    "de": ["Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Liebes Team,", ""],
    "ru": ["Здравствуйте,", "Добрый день,", "Уважаемая служба поддержки,", "Привет,", ""],
    "be": ["Добры дзень,", "Вітаю,", "Паважаная служба падтрымкі,", "Прывітанне,", ""],
}
CLOSINGS = {
    "en": ["Thanks.", "Regards,", "Please sort this out.", "I expect an answer soon.", ""],
    "fr": [
        "Merci.",
        "Cordialement,",
        "Merci de régler cela rapidement.",
        "J'attends votre réponse.",
        "",
    ],
    "de": [
        "Danke.",
        "Mit freundlichen Grüßen",
        "Bitte kümmern Sie sich darum.",
        "Ich erwarte eine Antwort.",
        "",
    ],
    "ru": ["Спасибо.", "С уважением,", "Прошу разобраться.", "Жду ответа.", ""],
    "be": ["Дзякуй.", "З павагай,", "Прашу разабрацца.", "Чакаю адказу.", ""],
}
REFERENCES = {
    "en": ["order #{n}", "order number {n}", "ref {n}", "my order {n}"],
    "fr": ["commande n°{n}", "commande {n}", "réf. {n}"],
    "de": ["Bestellung Nr. {n}", "Bestellnummer {n}", "Auftrag {n}"],
    "ru": ["заказ № {n}", "заказ {n}", "номер заказа {n}"],
    "be": ["заказ № {n}", "заказ {n}", "нумар заказу {n}"],
}

# Each problem: a few ways its customers put it (the core) and details some add.
GROUPS: dict[str, dict[str, list[str]]] = {
    "en-parcel-crushed": {
        "core": [
            "My parcel arrived damaged, the box was completely crushed.",
            "The parcel came today with a crushed box and the contents are damaged.",
            "Received the parcel crushed and damaged, the box is destroyed.",
            "Your courier delivered my parcel with the box crushed flat, "
            "everything inside damaged.",
        ],
        "details": ["I have photos of the crushed box.", "The courier just left it at the door."],
    },
    "en-parcel-late": {
        "core": [
            "My parcel is two weeks late and the tracking has not changed.",
            "The parcel still has not arrived, it is two weeks late now and tracking is stuck.",
            "Where is my parcel? Two weeks late and the tracking page shows nothing new.",
            "Parcel delivery is two weeks late, tracking stuck on the same status.",
        ],
        "details": ["I paid for express delivery.", "Nobody answers the phone."],
    },
    "en-kettle-leak": {
        "core": [
            "The K200 kettle leaks water from the bottom after a few uses.",
            "My new K200 kettle is leaking water from underneath.",
            "Kettle K200 leaks from the base, water all over the counter.",
            "Water leaks out of the bottom of the K200 kettle every time I boil it.",
        ],
        "details": ["It is dangerous with electricity.", "I bought it last month."],
    },
    "en-kettle-switch": {
        "core": [
            "The K200 kettle does not switch off when the water boils.",
            "My K200 kettle never turns off by itself, it keeps boiling.",
            "Kettle K200 switch is broken, it does not click off after boiling.",
            "The automatic switch-off of the K200 kettle does not work.",
        ],
        "details": ["It boiled dry yesterday.", "This is a fire hazard."],
    },
    "en-app-login": {
        "core": [
            "The mobile app crashes every time I try to log in since the last update.",
            "Since the update the app crashes on the login screen.",
            "I cannot log in, the app closes itself right after I enter my password.",
            "App keeps crashing at login after yesterday's update.",
        ],
        "details": ["I reinstalled it twice.", "I use an Android phone."],
    },
    "fr-double-debit": {
        "core": [
            "J'ai été débité deux fois pour la même commande.",
            "Le montant de ma commande a été prélevé deux fois sur mon compte.",
            "Double prélèvement sur ma carte bancaire pour une seule commande.",
            "Vous m'avez débité deux fois le même achat.",
        ],
        "details": [
            "Ma banque confirme les deux débits.",
            "Je veux être remboursé du second paiement.",
        ],
    },
    "fr-livraison-retard": {
        "core": [
            "Ma livraison a trois semaines de retard et personne ne répond.",
            "Toujours pas livré, trois semaines de retard sur la date annoncée.",
            "La livraison est en retard de trois semaines, aucune nouvelle du transporteur.",
            "Commande non livrée après trois semaines de retard.",
        ],
        "details": [
            "Le suivi indique « en cours d'acheminement ».",
            "J'en avais besoin pour un anniversaire.",
        ],
    },
    "fr-facture-erreur": {
        "core": [
            "Ma facture d'électricité de ce mois est trois fois plus élevée que d'habitude.",
            "La facture d'électricité est anormalement élevée, trois fois le montant habituel.",
            "Erreur sur ma facture d'électricité : le montant a triplé sans raison.",
            "Facture d'électricité beaucoup trop élevée ce mois-ci, "
            "il doit y avoir une erreur de relevé.",
        ],
        "details": ["Mon compteur n'a pas été relevé.", "Je suis absent depuis un mois."],
    },
    "fr-conseiller-impoli": {
        "core": [
            "Le conseiller en agence a été très impoli et m'a raccroché au nez.",
            "J'ai été reçu de manière impolie par le conseiller de l'agence.",
            "Conseiller impoli et méprisant lors de mon rendez-vous en agence.",
            "Le conseiller de l'agence m'a parlé de façon très impolie.",
        ],
        "details": ["C'était à l'agence du centre-ville.", "Je suis client depuis vingt ans."],
    },
    "de-waschmaschine": {
        "core": [
            "Die Waschmaschine WM-7 zeigt nach zwei Wochen den Fehler E21 und pumpt nicht ab.",
            "Meine neue Waschmaschine WM-7 pumpt das Wasser nicht ab, Fehlercode E21.",
            "Fehler E21 bei der Waschmaschine WM-7, das Wasser bleibt in der Trommel.",
            "Waschmaschine WM-7 defekt: Fehlermeldung E21, Abpumpen funktioniert nicht.",
        ],
        "details": [
            "Der Techniker kam nicht zum Termin.",
            "Die Maschine ist erst einen Monat alt.",
        ],
    },
    "de-internet-ausfall": {
        "core": [
            "Seit drei Tagen habe ich kein Internet, der Router blinkt rot.",
            "Internet ausgefallen seit drei Tagen, am Router leuchtet die rote Lampe.",
            "Mein Internetanschluss funktioniert seit drei Tagen nicht, rotes Blinken am Router.",
            "Kein Internet mehr seit drei Tagen, Router zeigt rotes Licht.",
        ],
        "details": ["Ich arbeite im Homeoffice.", "Die Störungshotline ist ständig besetzt."],
    },
    "de-rechnung-doppelt": {
        "core": [
            "Mir wurde die Rechnung für März doppelt abgebucht.",
            "Die Märzrechnung wurde zweimal von meinem Konto abgebucht.",
            "Doppelte Abbuchung der Rechnung vom März auf meinem Konto.",
            "Sie haben den Betrag der Rechnung für März zweimal eingezogen.",
        ],
        "details": ["Bitte erstatten Sie den doppelten Betrag.", "Mein Konto ist jetzt im Minus."],
    },
    "de-kuendigung": {
        "core": [
            "Meine Kündigung wurde nicht bestätigt und Sie buchen weiter ab.",
            "Trotz Kündigung buchen Sie weiterhin Geld ab, eine Bestätigung habe ich nie bekommen.",
            "Ich habe gekündigt, aber keine Kündigungsbestätigung erhalten "
            "und es wird weiter abgebucht.",
            "Die Kündigung wird ignoriert, die Abbuchungen laufen weiter.",
        ],
        "details": ["Ich habe per Einschreiben gekündigt.", "Das ist schon der zweite Monat."],
    },
    "ru-kurier-opozdal": {
        "core": [
            "Курьер опоздал на четыре часа и даже не позвонил.",
            "Курьер приехал на четыре часа позже и не предупредил звонком.",
            "Доставка опоздала на четыре часа, курьер не позвонил.",
            "Ждал курьера четыре часа, он опоздал и не позвонил.",
        ],
        "details": ["Пришлось отпрашиваться с работы.", "Продукты приехали тёплыми."],
    },
    "ru-goryachaya-voda": {
        "core": [
            "В нашем доме уже неделю нет горячей воды.",
            "Неделю нет горячей воды во всём доме, никто ничего не объясняет.",
            "Горячей воды нет уже целую неделю, когда дадут?",
            "Отключили горячую воду неделю назад и до сих пор не включили.",
        ],
        "details": ["В доме маленькие дети.", "Объявления об отключении не было."],
    },
    "ru-spisanie": {
        "core": [
            "С карты дважды списали деньги за одну покупку.",
            "За один заказ деньги списали с карты два раза.",
            "Двойное списание с банковской карты за одну покупку.",
            "Списали оплату дважды, хотя покупка была одна.",
        ],
        "details": ["Прошу вернуть лишнее списание.", "Банк говорит, что обе операции прошли."],
    },
    "ru-prilozhenie": {
        "core": [
            "Приложение банка не открывается после обновления.",
            "После последнего обновления приложение банка вылетает при запуске.",
            "Не могу зайти в приложение банка, после обновления оно сразу закрывается.",
            "Приложение банка перестало работать после обновления.",
        ],
        "details": ["Переустановка не помогла.", "Телефон на Андроиде."],
    },
    "be-pasylka": {
        "core": [
            "Пасылка прыйшла пашкоджанай, скрынка разбітая.",
            "Маю пасылку атрымаў пашкоджанай, скрынка была разбітая.",
            "Скрынка пасылкі разбітая, рэчы ўнутры пашкоджаныя.",
            "Пасылку даставілі з разбітай скрынкай, усё пашкоджана.",
        ],
        "details": ["Кур'ер паклаў яе каля дзвярэй.", "Ёсць фота пашкоджанняў."],
    },
    "be-vada": {
        "core": [
            "У нашым доме ўжо тыдзень няма гарачай вады.",
            "Тыдзень няма гарачай вады ва ўсім доме.",
            "Гарачай вады няма цэлы тыдзень, калі ўключыце?",
            "Гарачую ваду адключылі тыдзень таму і дагэтуль не ўключылі.",
        ],
        "details": ["У доме малыя дзеці.", "Аб адключэнні не папярэдзілі."],
    },
    "be-rahunak": {
        "core": [
            "Грошы за адну пакупку спісалі з карткі двойчы.",
            "З маёй карткі двойчы спісалі грошы за адзін заказ.",
            "Падвойнае спісанне з карткі за адну пакупку.",
            "Спісалі аплату двойчы, хаця пакупка была адна.",
        ],
        "details": ["Прашу вярнуць лішняе спісанне.", "Банк пацвярджае абедзве аперацыі."],
    },
    "be-aperatar": {
        "core": [
            "Аператар гарачай лініі быў вельмі грубы і кінуў трубку.",
            "Мне нагрубіў аператар гарачай лініі і паклаў трубку.",
            "Грубы аператар на гарачай лініі кінуў трубку падчас размовы.",
            "Аператар гарачай лініі размаўляў грубіянска і кінуў трубку.",
        ],
        "details": ["Я званіў тры разы.", "Размова была ўчора ўвечары."],
    },
}

# Problems only one customer has: they share the openings, closings and words of
# their language with the groups, and nothing else.
SINGLES = {
    "en": [
        "The shop assistant refused to accept my gift card.",
        "Your website charges VAT twice at checkout for Irish addresses.",
        "I was promised a callback about my mortgage and nobody called.",
        "The replacement phone screen you fitted has dead pixels.",
        "My loyalty points disappeared after I changed my email address.",
        "The store's car park barrier damaged my car bumper.",
        "Your invoice shows the wrong company name for my business.",
        "The heating engineer left mud all over the carpet.",
    ],
    "fr": [
        "Le magasin a refusé ma carte cadeau sans explication.",
        "Le technicien n'est jamais venu au rendez-vous de mardi.",
        "Mon colis a été livré chez un voisin sans mon accord.",
        "Le produit reçu ne correspond pas à la photo du site.",
        "Impossible de modifier mon adresse dans l'espace client.",
        "Les frais de résiliation ne figuraient pas dans le contrat.",
        "La réparation de mon vélo a pris deux mois.",
        "Le serveur du restaurant a renversé du vin sur ma veste.",
    ],
    "de": [
        "Die Filiale hat meinen Gutschein nicht angenommen.",
        "Der Paketbote hat das Paket beim falschen Nachbarn abgegeben.",
        "Das gelieferte Sofa hat einen Riss im Bezug.",
        "Ihre Hotline hat mich fünfmal weiterverbunden.",
        "Die Reparatur meines Fahrrads dauerte zwei Monate.",
        "Im Zug war die Klimaanlage kaputt und es gab kein Wasser.",
        "Meine Adresse lässt sich im Kundenkonto nicht ändern.",
        "Der Preis an der Kasse war höher als am Regal.",
    ],
    "ru": [
        "Продавец отказался принять подарочную карту.",
        "Мастер не пришёл в назначенное время.",
        "Посылку отдали соседу без моего согласия.",
        "Товар не соответствует фотографии на сайте.",
        "Не получается изменить адрес в личном кабинете.",
        "В поезде не работал кондиционер.",
        "Цена на кассе оказалась выше, чем на ценнике.",
        "Ремонт велосипеда занял два месяца.",
    ],
    "be": [
        "Прадавец адмовіўся прыняць падарункавую картку.",
        "Майстар не прыйшоў у прызначаны час.",
        "Тавар не адпавядае фотаздымку на сайце.",
        "Не атрымліваецца змяніць адрас у асабістым кабінеце.",
        "У цягніку не працаваў кандыцыянер.",
        "Кошт на касе аказаўся большы, чым на цэтліку.",
        "Рамонт ровара заняў два месяцы.",
        "Квітанцыя за святло прыйшла на чужое прозвішча.",
    ],
}


def typo(word: str, rng: random.Random) -> str:
    """One slip of the finger: a swapped, dropped, doubled or replaced letter."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(word) + word[i + 1 :]


def noisy(text: str, rng: random.Random) -> str:
    """Typos in about one word in twelve, sometimes shouting, sometimes no capitals."""
    words = [typo(word, rng) if rng.random() < 1 / 12 else word for word in text.split(" ")]
    text = " ".join(words)
    roll = rng.random()
    if roll < 0.1:
        text = text.lower()
    elif roll < 0.15:
        text = text.upper()
    if rng.random() < 0.2:
        text = text.replace(".", "!!", 1)
    return text


def complaint(language: str, core: str, details: list[str], rng: random.Random) -> str:
    reference = rng.choice(REFERENCES[language]).format(n=rng.randrange(10_000, 99_999))
    parts = [rng.choice(OPENINGS[language]), core]
    if rng.random() < 0.6:
        parts.append(f"({reference})")
    parts.extend(detail for detail in details if rng.random() < 0.4)
    parts.append(rng.choice(CLOSINGS[language]))
    return noisy(" ".join(part for part in parts if part), rng)


def build(seed: int = SEED) -> list[dict[str, object]]:
    """The complaints, as written to the file for ``SEED``."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    customer = 0

    def next_customer() -> str:
        nonlocal customer
        customer += 1
        return f"C{customer:04d}"

    for group, problem in GROUPS.items():
        language = group.split("-", 1)[0]
        first = START + timedelta(days=rng.randrange(0, 100), hours=rng.randrange(0, 10))
        members: list[str] = []
        for _ in range(rng.randrange(6, 15)):
            # Now and then the same customer writes again about the same problem.
            who = rng.choice(members) if members and rng.random() < 0.15 else next_customer()
            members.append(who)
            rows.append(
                {
                    "customer": who,
                    "received_at": first + timedelta(hours=rng.randrange(0, 14 * 24)),
                    "language": language,
                    "text": complaint(
                        language, rng.choice(problem["core"]), problem["details"], rng
                    ),
                    "group": group,
                }
            )
    for language, singles in SINGLES.items():
        for single in singles:
            rows.append(
                {
                    "customer": next_customer(),
                    "received_at": START + timedelta(hours=rng.randrange(0, 120 * 24)),
                    "language": language,
                    "text": complaint(language, single, [], rng),
                    "group": None,
                }
            )
    rng.shuffle(rows)
    for number, row in enumerate(rows, start=1):
        row["id"] = f"S{number:04d}"
    return [
        {
            "id": row["id"],
            "customer": row["customer"],
            "received_at": row["received_at"].isoformat(),  # type: ignore[attr-defined]
            "language": row["language"],
            "text": row["text"],
            "group": row["group"],
        }
        for row in rows
    ]


def main() -> None:
    lines = [json.dumps(row, ensure_ascii=False) for row in build()]
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} complaints to {OUTPUT}")


if __name__ == "__main__":
    main()
