"""The work family is the job, not every "work" a sentence contains (``topics.FAMILIES_EN``)."""

import pytest

from extraction.rules.topics import family_of


@pytest.mark.parametrize("text", ["cello is basically my whole personality outside work lol",
                                  "been knitting loads lately, working on a cabled jumper",
                                  "I go bouldering at a gym near work", "I need to work on my posture",
                                  "I work out every morning"])
def test_work_as_a_place_or_an_effort_is_not_the_job(text):
    assert family_of(text, "en") != "work", text


@pytest.mark.parametrize("text", ["I work at Stripe", "working at a bakery now", "got a new job at Amazon"])
def test_the_job(text):
    assert family_of(text, "en") == "work", text
