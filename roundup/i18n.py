"""Labels and dates in the newsletter's language.

Dates come from Babel's CLDR data, so every language Babel knows formats correctly; the few
fixed labels of the default theme are translated here for a handful of languages and fall
back to English. A theme can override any label in its own templates.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "also_via": "also via",
        "also_covered_by": "Also covered by",
        "more_this_week": "More this week",
        "view_online": "View online",
        "unsubscribe": "Unsubscribe",
        "in_this_issue": "In this issue",
        "issue": "Issue",
        "editor_note": "Editor's note",
        "read_more": "Read more",
        "other": "More reading",
        "you_receive": "You are receiving this because you subscribed to",
        "by": "by",
        "min_read": "{n} min read",
        "story_count": "{n} stories|1 story",
        "source_count": "{n} sources|1 source",
        "this_week": "{stories} from {sources} this week",
    },
    "fr": {
        "also_via": "aussi via",
        "also_covered_by": "Également couvert par",
        "more_this_week": "Également cette semaine",
        "view_online": "Voir en ligne",
        "unsubscribe": "Se désabonner",
        "in_this_issue": "Dans ce numéro",
        "issue": "Numéro",
        "editor_note": "Note de la rédaction",
        "read_more": "Lire la suite",
        "other": "Autres lectures",
        "you_receive": "Vous recevez ce message car vous êtes abonné à",
        "by": "par",
        "min_read": "{n} min de lecture",
        "story_count": "{n} articles|1 article",
        "source_count": "{n} sources|1 source",
        "this_week": "{stories} de {sources} cette semaine",
    },
    "de": {
        "also_via": "auch über",
        "also_covered_by": "Auch berichtet von",
        "more_this_week": "Mehr diese Woche",
        "view_online": "Im Browser ansehen",
        "unsubscribe": "Abmelden",
        "in_this_issue": "In dieser Ausgabe",
        "issue": "Ausgabe",
        "editor_note": "Anmerkung der Redaktion",
        "read_more": "Weiterlesen",
        "other": "Weitere Beiträge",
        "you_receive": "Sie erhalten diese E-Mail, weil Sie abonniert haben:",
        "by": "von",
        "min_read": "{n} Min. Lesezeit",
        "story_count": "{n} Beiträge|1 Beitrag",
        "source_count": "{n} Quellen|1 Quelle",
        "this_week": "{stories} aus {sources} diese Woche",
    },
    "es": {
        "also_via": "también vía",
        "also_covered_by": "También cubierto por",
        "more_this_week": "Más esta semana",
        "view_online": "Ver en línea",
        "unsubscribe": "Darse de baja",
        "in_this_issue": "En este número",
        "issue": "Número",
        "editor_note": "Nota del editor",
        "read_more": "Leer más",
        "other": "Más lecturas",
        "you_receive": "Recibe este mensaje porque se suscribió a",
        "by": "por",
        "min_read": "{n} min de lectura",
        "story_count": "{n} artículos|1 artículo",
        "source_count": "{n} fuentes|1 fuente",
        "this_week": "{stories} de {sources} esta semana",
    },
}


def labels(language: str) -> dict[str, str]:
    """The label table for ``language`` (``pt-BR`` falls back to ``pt``, then English)."""
    base = language.replace("_", "-").split("-")[0].lower()
    return {**LABELS["en"], **LABELS.get(base, {})}


def count_label(template: str, n: int) -> str:
    """A label with a count: ``"{n} stories|1 story"`` gives "1 story" for 1, else "7 stories"."""
    many, _, one = template.partition("|")
    return (one if n == 1 and one else many).replace("{n}", str(n))


if TYPE_CHECKING:
    from babel import Locale


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    from babel import Locale

    return Locale.parse(language.replace("-", "_"))


def format_date(day: date, language: str, style: str = "long") -> str:
    """``day`` in ``language``: style ``long`` (August 14, 2015), ``medium`` or ``short``."""
    from babel.dates import format_date as babel_format_date

    result: str = babel_format_date(day, format=style, locale=_locale(language))
    return result


def format_month_day(day: date, language: str) -> str:
    """A compact day for subjects: ``8/14`` in English, ``14/08`` in French."""
    from babel.dates import format_skeleton

    result: str = format_skeleton("Md", day, locale=_locale(language))
    return result
