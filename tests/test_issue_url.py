"""An issue's one public address, and the paths derived from it."""

from __future__ import annotations

import pytest

from roundup.issue_url import below_site, issue_path, post_url, slugify, url_path
from tests.test_render import sample_config, sample_draft


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Weekly Roundup", "weekly-roundup"),
        ("Revue de la Semaine — été", "revue-de-la-semaine-ete"),
        ("  C++ & Rust!  ", "c-rust"),
        ("東京", ""),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


@pytest.mark.parametrize(
    ("url", "path", "below"),
    [
        (
            "https://example.org/roundup/",
            "/roundup/2015-08-14-weekly-roundup/",
            "2015-08-14-weekly-roundup/",
        ),
        ("https://example.org/", "/2015-08-14-weekly-roundup/", "2015-08-14-weekly-roundup/"),
        (
            "http://127.0.0.1:8000/a/b/",
            "/a/b/2015-08-14-weekly-roundup/",
            "2015-08-14-weekly-roundup/",
        ),
    ],
)
def test_one_address_and_its_paths(url: str, path: str, below: str) -> None:
    """post_url is newsletter.url + issue_path; the permalink path and the site folder follow."""
    config = sample_config(url=url)
    address = post_url(sample_draft(), config)
    assert address == url + issue_path(sample_draft(), config)
    assert url_path(address) == path
    assert below_site(address, config) == below


def test_an_address_outside_the_site_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not below newsletter\.url"):
        below_site("https://elsewhere.org/x/", sample_config(url="https://example.org/roundup/"))


def test_an_untitled_newsletter_still_gets_an_address() -> None:
    assert post_url(sample_draft(), sample_config(title="東京")).endswith("/2015-08-14-issue/")
