"""The evaluation corpus script (`python -m bench.eval.corpus`) against small git mirrors of each archive format."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.eval.corpus import DATAGOUV_CSV, MAX_CHARS, PREV_CHARS, SLACK_FILES, SOURCES, build, write

REPO_ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}

USRP_ROOT = """\
Message-ID: <root@example.org>
Date: Mon, 03 Mar 2025 10:00:00 +0100
From: Ann User <ann@gmail.com>
To: usrp-users@lists.ettus.com
Subject: [USRP-users] B210 drops samples
Precedence: list
Content-Type: text/plain; charset="utf-8"

Hello, my B210 drops samples at 20 MS/s. Is that expected?

_______________________________________________
USRP-users mailing list -- usrp-users@lists.ettus.com
To unsubscribe send an email to usrp-users-leave@lists.ettus.com
"""
USRP_ANSWER = """\
Message-ID: <answer@ettus.com>
Date: Mon, 03 Mar 2025 11:00:00 +0100
From: Marc Vendor <marc@ettus.com>
To: usrp-users@lists.ettus.com
Subject: [USRP-users] Re: B210 drops samples
In-Reply-To: <root@example.org>
References: <root@example.org>
Precedence: list
Content-Type: text/plain; charset="utf-8"

Which UHD version, and which USB controller? Please send the logs.

On 03.03.25 10:00, Ann User wrote:
> Hello, my B210 drops samples at 20 MS/s. Is that expected?

_______________________________________________
USRP-users mailing list -- usrp-users@lists.ettus.com
To unsubscribe send an email to usrp-users-leave@lists.ettus.com
"""
USRP_AWAY = """\
Message-ID: <away@example.org>
Date: Mon, 03 Mar 2025 11:01:00 +0100
From: Bob <bob@example.org>
Subject: Automatic reply: [USRP-users] Re: B210 drops samples
In-Reply-To: <answer@ettus.com>
Auto-Submitted: auto-replied
Content-Type: text/plain

I am out of the office until Monday.
"""
# The list rewrites From for senders whose domain publishes DMARC and keeps the author in Reply-To.
USRP_CHASER = """\
Message-ID: <chaser@example.org>
Date: Tue, 04 Mar 2025 09:00:00 +0100
From: Ann User via USRP-users <usrp-users@lists.ettus.com>
Reply-To: Ann User <ann@gmail.com>
Subject: [USRP-users] Re: B210 drops samples
In-Reply-To: <answer@ettus.com>
Precedence: list
Content-Type: text/plain; charset="utf-8"

UHD 4.6, logs attached. Still dropping samples, any update?
"""

REDASH_ABOUT = """<section class="about admins"><h3>Our Admins</h3>
<div class="user-info small" data-username="arik"><a href="./u/detail/arik.html">arik</a></div></section>"""
REDASH_TOPIC = """<html><body><div class="navbar">chrome</div>
<div class="wrap" id="main-outlet" role="main">
<div class="topic-body crawler-post" id="post_1">
<div class="crawler-post-meta"><span class="creator"><a><span itemprop="name">dana</span></a></span>
<time class="post-time" datetime="2021-04-16T04:12:07Z">April 16</time></div>
<div class="post" itemprop="articleBody"><p>My query fails with:</p>
<pre><code>Traceback (most recent call last):
  File "x.py", line 1</code></pre></div></div>
<div class="topic-body crawler-post" id="post_2">
<div class="crawler-post-meta"><span class="creator"><a><span itemprop="name">arik</span></a></span>
<time class="post-time" datetime="2021-04-16T05:00:00Z">April 16</time></div>
<div class="post" itemprop="text"><aside class="quote" data-username="dana"><div class="title">dana:</div>
<blockquote><p>My query fails with:</p></blockquote></aside><p>Which data source do you use?</p></div></div>
<div class="topic-body crawler-post" id="post_3">
<div class="crawler-post-meta"><span class="creator"><a><span itemprop="name">system</span></a></span>
<time class="post-time" datetime="2021-05-16T05:00:00Z">May 16</time></div>
<div class="post" itemprop="text"><p>This topic was automatically closed after 30 days.</p></div></div>
</div></body></html>"""

TWITTER = [
    {
        "agentURL": {"tweet_ID": "3", "url_utterance": "@ann Here is how: https://example.org/help"},
        "dialogContent": [
            {
                "client": "ann",
                "datetime": "2020-04-01T17:31:32.000Z",
                "message": "@Care my card is blocked",
                "tweet_ID": "1",
            },
            {
                "agent": "Care",
                "datetime": "2020-04-01T17:40:00.000Z",
                "message": "@ann Sorry! Which card?",
                "tweet_ID": "2",
            },
        ],
        "dialogHeader": {"company": "Care", "sessionID": "s1"},
    }
]

SLACK_XML = """<slack><team_domain>t</team_domain><channel_name>c</channel_name>
<message conversation_id="1"><ts>2019-01-01T10:00:00.000001</ts><user>Fred</user>
<text>&lt;@Earl&gt; is there a way to minify the output &amp;amp; keep names?</text></message>
<message conversation_id="1"><ts>2019-01-01T10:01:00.000001</ts><user>Earl</user>
<text>&lt;@Fred&gt; see &lt;https://guide.example.org|the guide&gt;</text></message>
<message conversation_id="2"><ts>2019-01-01T10:02:00.000001</ts><user>Gus</user>
<text>&lt;@Gus&gt; has joined the channel</text></message>
</slack>"""

DATAGOUV_HEADER = ("id_discussion", "user", "message", "discussion_posted_on")
LONG = "Bonjour, voici le détail de la mutation en question. " * 70  # over MAX_CHARS
DATAGOUV_ROWS = [
    (
        "d1",
        "Léa",
        "Bonjour, les données du Lot ne sont toujours pas à jour, des nouvelles ?",
        "2023-10-11T19:33:28+00:00",
    ),
    ("d1", "DGFiP", "Bonjour, le fichier a été mis à jour hier.", "2023-10-12T05:57:56+00:00"),
    ("d1", "DGFiP", "Discussion close", "2023-10-12T06:00:00+00:00"),
    ("d2", "Paul", LONG, "2023-01-11T10:56:48+00:00"),
    ("d2", "Zoé", "Merci, je relance le service concerné et reviens vers vous.", "2023-01-12T10:56:48+00:00"),
    ("d3", "Marc", "DELETED", "2022-01-01T10:00:00+00:00"),
    (
        "d3",
        "Marc",
        "Bonjour, je relance ma question : où trouver les données de 2013 ?",
        "2022-01-02T10:00:00+00:00",
    ),
    # The same question posted twice, but for a number: the one taken second is a near-duplicate.
    (
        "d4",
        "Yves",
        "Bonjour, les fichiers en CSV ne sont toujours pas en ligne, merci 1",
        "2021-08-04T11:48:46+00:00",
    ),
    (
        "d5",
        "Yvon",
        "Bonjour, les fichiers en CSV ne sont toujours pas en ligne, merci 2",
        "2021-08-05T11:48:46+00:00",
    ),
]


# HubSpot's Slack export: a thread whose last reply is in the next day's file, a reply whose author the export
# lost, a post nobody answered in a thread, and a null entry.
HUBSPOT_DAY_1 = [
    {
        "poster": {"poster_name": "Ann", "poster_handle": "ann"},
        "time_stamp": "2023-05-02 09:00:00",
        "text": "My webhook gets 401 since Friday, any idea?",
        "replies": [
            {"time_stamp": "2023-05-02 09:10:00"},
            {"time_stamp": "2023-05-02 09:20:00"},
            {"time_stamp": "2023-05-03 08:00:00"},
        ],
    },
    {
        "poster": {"poster_name": "Bo", "poster_handle": "bo.hs"},
        "time_stamp": "2023-05-02 09:10:00",
        "text": "<@U123> which app type, private or public?",
    },
    {"time_stamp": "2023-05-02 09:20:00", "text": "I had the same, rotate the key."},
    {
        "poster": {"poster_name": "Cy", "poster_handle": "cy"},
        "time_stamp": "2023-05-02 10:00:00",
        "text": "Hello all",
    },
    None,
]
HUBSPOT_DAY_2 = [
    {
        "poster": {"poster_name": "Ann", "poster_handle": "ann"},
        "time_stamp": "2023-05-03 08:00:00",
        "text": "Private app. Still failing with the new key.",
    }
]


# monday.com's community forum (its Discourse API, copied): a staff answer under a ".Monday" handle, the support
# tool's note and a deleted (empty) post left out, a user's chaser.
MONDAY_TOPIC = {
    "id": 100009,
    "title": "Formula column in charts",
    "posts": [
        {
            "id": "1",
            "author": "ana.k (Ana K)",
            "createdAt": "2024-10-07T18:09:16.505Z",
            "cookedHtml": "<p>Can I chart a <code>formula</code> column?</p>",
        },
        {"id": "2", "author": "Matias.Monday (Matias)", "createdAt": "2024-10-08T06:32:33.911Z",
         "cookedHtml": "<p>exclude_reply_from_sla</p>"},
        {"id": "3", "author": "ana.k (Ana K)", "createdAt": "2024-10-09T06:32:33.911Z", "cookedHtml": ""},
        {
            "id": "4",
            "author": "ana.k (Ana K)",
            "createdAt": "2024-10-10T06:32:33.911Z",
            "cookedHtml": "<p>anyone? <a class=\"mention\" href=\"/u/matias.monday\">@Matias.Monday</a></p>",
        },
        {
            "id": "5",
            "author": "Matias.Monday (Matias)",
            "createdAt": "2024-10-11T06:32:33.911Z",
            "cookedHtml": "<p>Hello <a class=\"mention\" href=\"/u/ana.k\">@ana.k</a>!<br>Not yet, sorry.</p>",
        },
    ],
}  # fmt: skip


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=GIT_ENV
    )
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str | bytes]) -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "data")
    return _git(repo, "rev-parse", "HEAD")


def _mirror(mirrors: Path, repo: str) -> Path:
    path = mirrors / repo.replace("/", "+") / "repo"
    path.mkdir(parents=True)
    _git(path, "init", "-q")
    return path


def _datagouv_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DATAGOUV_HEADER)
    writer.writerows(DATAGOUV_ROWS)
    return out.getvalue()


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple]:
    """Mirrors of the seven archives, each in its own format, and the sources pinned to their commits."""
    root = tmp_path_factory.mktemp("mirrors")
    by_name = {source.name: source for source in SOURCES}
    commits = {}
    usrp = _mirror(root, by_name["usrp-users"].repo)
    for mail in (USRP_ROOT, USRP_ANSWER, USRP_AWAY, USRP_CHASER):  # a public-inbox: one mail per commit
        commits["usrp-users"] = _commit(usrp, {"m": mail})
    commits["redash-discourse"] = _commit(
        _mirror(root, by_name["redash-discourse"].repo),
        {
            "about.html": REDASH_ABOUT,
            "t/query-fails/8316.html": REDASH_TOPIC,
            "t/query-fails/assets/x.png": b"\x89",
        },
    )
    commits["twitter-care"] = _commit(
        _mirror(root, by_name["twitter-care"].repo),
        {"dev.json": json.dumps(TWITTER), "test.json": "[]"},
    )
    commits["slack-qa"] = _commit(
        _mirror(root, by_name["slack-qa"].repo),
        {path: SLACK_XML if i == 0 else "<slack/>" for i, path in enumerate(SLACK_FILES)},
    )
    commits["datagouv-mef"] = _commit(
        _mirror(root, by_name["datagouv-mef"].repo), {DATAGOUV_CSV: _datagouv_csv()}
    )
    commits["hubspot-devslack"] = _commit(
        _mirror(root, by_name["hubspot-devslack"].repo),
        {
            "channel_api/2023/05/2023-05-02.json": json.dumps(HUBSPOT_DAY_1),
            "channel_api/2023/05/2023-05-03.json": json.dumps(HUBSPOT_DAY_2),
            "channels_directory.json": "[]",
        },
    )
    commits["monday-community"] = _commit(
        _mirror(root, by_name["monday-community"].repo),
        {"dist/api/topics/100009.json": json.dumps(MONDAY_TOPIC), "dist/api/categories.json": "[]"},
    )
    sources = tuple(
        dataclasses.replace(
            source,
            commit=commits[source.name],
            # datagouv-mef: one conversation drawn at random, then the ones with chaser words ("relance", "toujours").
            random_quota=1 if source.name == "datagouv-mef" else 100,
            enriched_quota=100,
        )
        for source in SOURCES
    )
    return root, sources


def test_every_archive_format_gives_messages_with_their_context(mirrors: tuple[Path, tuple]) -> None:
    root, sources = mirrors
    records, tallies = build(root, sources)
    by_text = {r["text"]: r for r in records}
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    for record in records:
        assert record["text_sha1"] == hashlib.sha1(record["text"].encode()).hexdigest()
        assert len(record["text"]) <= MAX_CHARS
        assert record["id"].startswith("gh:") and "@" in record["id"]
        assert record["sample"] in ("random", "enriched")

    # Email: the whole body with its quote, without the footer the list appends; no auto-reply; vendor by domain.
    usrp = [r for r in records if r["source"] == "usrp-users"]
    assert [r["position"] for r in usrp] == [0, 1, 2]
    assert len({r["conversation_id"] for r in usrp}) == 1
    answer = usrp[1]
    assert answer["text"].startswith("Which UHD version") and "> Hello, my B210" in answer["text"]
    assert "mailing list" not in answer["text"]
    assert (answer["author_role"], usrp[0]["author_role"]) == ("vendor", "customer")
    # a mail the list re-sent under its own address (on the vendor's domain) is still its author's
    assert (usrp[2]["author_role"], usrp[2]["author_key"]) == ("customer", usrp[0]["author_key"])
    assert answer["prev_text"] == usrp[0]["text"]
    assert answer["channel"] == "email" and answer["sent_at"] == "2025-03-03T10:00:00+00:00"
    assert not any("out of the office" in r["text"] for r in records)
    assert tallies["usrp-users"].dropped["automated"] == 1

    # Forum: code keeps its lines, quotes become "> " lines, the team by the site's admins, system posts left out.
    question = by_text['My query fails with:\nTraceback (most recent call last):\nFile "x.py", line 1']
    reply = next(r for r in records if r["source"] == "redash-discourse" and r["position"] == 1)
    assert reply["text"] == "dana:\n> My query fails with:\nWhich data source do you use?"
    assert (question["author_role"], reply["author_role"]) == ("user", "staff")
    assert tallies["redash-discourse"].dropped["system"] == 1

    # Chat: customer turns, agent turns and the agent's closing answer, in order.
    care = [r for r in records if r["source"] == "twitter-care"]
    assert [r["author_role"] for r in care] == ["customer", "vendor", "vendor"]
    assert care[2]["text"].startswith("@ann Here is how")

    # Slack: mentions and links as a reader sees them, entities decoded, joins left out.
    assert by_text["@Earl is there a way to minify the output & keep names?"]["channel"] == "slack"
    assert "@Fred see the guide" in by_text
    assert tallies["slack-qa"].dropped["join/leave"] == 1

    # HubSpot's Slack: a thread across two day files, the reply without author left out, the lone post too.
    hubspot = [r for r in records if r["source"] == "hubspot-devslack"]
    assert [r["text"] for r in hubspot] == [
        "My webhook gets 401 since Friday, any idea?",
        "@U123 which app type, private or public?",
        "Private app. Still failing with the new key.",
    ]
    assert hubspot[2]["author_key"] == hubspot[0]["author_key"] != hubspot[1]["author_key"]
    assert hubspot[2]["sent_at"] == "2023-05-03T08:00:00+00:00" and hubspot[2]["channel"] == "slack"
    assert tallies["hubspot-devslack"].dropped["no author"] == 1

    # monday.com's forum: the team by its handles, the support tool's note and the empty post left out.
    monday = [r for r in records if r["source"] == "monday-community"]
    assert [(r["text"], r["author_role"]) for r in monday] == [
        ("Can I chart a formula column?", "user"),
        ("anyone? @Matias.Monday", "user"),
        ("Hello @ana.k!\nNot yet, sorry.", "staff"),
    ]
    assert monday[2]["sent_at"] == "2024-10-11T06:32:33.911Z" and monday[2]["channel"] == "forum"
    assert monday[1]["prev_text"] == monday[0]["text"]
    assert (
        tallies["monday-community"].dropped["system"] == 1
        and tallies["monday-community"].dropped["empty"] == 1
    )

    # French forum: deleted and closing posts left out, a long post left out but still the next one's context,
    # a near-duplicate left out, both samples present.
    datagouv = [r for r in records if r["source"] == "datagouv-mef"]
    assert {r["lang"] for r in datagouv} == {"fr"}
    assert not any(
        r["text"] in ("DELETED", "Discussion close") or r["text"] == LONG.strip() for r in datagouv
    )
    relance = by_text["Merci, je relance le service concerné et reviens vers vous."]
    assert relance["position"] == 1 and relance["prev_text"] == LONG.strip()[:PREV_CHARS]
    assert sum("fichiers en CSV" in r["text"] for r in datagouv) == 1
    assert {r["sample"] for r in datagouv} == {"random", "enriched"}


def test_same_mirrors_give_the_same_file(mirrors: tuple[Path, tuple], tmp_path: Path) -> None:
    root, sources = mirrors
    first = write(build(root, sources)[0], tmp_path / "a").read_bytes()
    second = write(build(root, sources)[0], tmp_path / "b").read_bytes()
    assert first == second and first.count(b"\n") > 10


def test_a_missing_mirror_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.eval.corpus",
            "--mirrors",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("corpus: no mirror of ") and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
