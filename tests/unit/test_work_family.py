"""The work family is the job, not every "work" a sentence contains (``topics.FAMILIES_EN``)."""

import pytest

from extraction.rules.topics import employers, family_of


@pytest.mark.parametrize("text", ["cello is basically my whole personality outside work lol",
                                  "been knitting loads lately, working on a cabled jumper",
                                  "I go bouldering at a gym near work", "I need to work on my posture",
                                  "I work out every morning"])
def test_work_as_a_place_or_an_effort_is_not_the_job(text):
    assert family_of(text, "en") != "work", text


@pytest.mark.parametrize("text", ["I work at Stripe", "working at a bakery now", "got a new job at Amazon"])
def test_the_job(text):
    assert family_of(text, "en") == "work", text


@pytest.mark.parametrize("text,employer", [
    ("works nights at the costco in tacoma", "costco"), ("jake's shifts at boeing start at 5:30am", "boeing"),
    ("im a pharmacist at cvs and the 12 hr shifts are long", "cvs"), ("I work at Google", "google"),
])
def test_an_employer_typed_in_lower_case_is_read(text, employer):
    assert employers(text) == {employer}


@pytest.mark.parametrize("text", ["i work at home now", "works at the hospital", "a cup of tea at noon",
                                  "work for a startup", "I work at night mostly"])
def test_a_time_a_place_of_no_ones_or_an_article_is_no_employer(text):
    assert employers(text) == frozenset()


def test_a_chinese_engineering_role_is_the_job():
    assert family_of("我现在在字节做后端", "zh") == "work"
