"""Real-text development corpus for commhealth's judgement (issues 12 and 14): needs-reply and misunderstanding signals.

    python -m bench.eval.corpus [--mirrors /work/.mirror] [--out /work/evaldata]

Reads public archives of support conversations, where a vendor's or maintainers' side answers users or customers, from
git mirrors fetched beforehand (one directory per repository, `owner+name/repo`, as the `fetch` tool leaves them) at
the commits pinned below, and writes `<out>/messages.jsonl`, one JSON object per message. Whole conversations are
taken at random with a fixed seed, then a smaller slice of conversations holding chaser, clarification, rework or
info-request words is added so that rare signals exist (`sample`: `random` or `enriched`). Bot and system posts,
deleted posts, messages over MAX_CHARS and near-duplicates are left out. The texts are not ours to redistribute
(bench/eval/SOURCES.md): they stay outside the repository, which keeps only ids and labels; the same mirrors always
give the same file.
"""

from __future__ import annotations

import argparse
import csv
import email
import hashlib
import html
import io
import json
import random
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from connectors.mail.automated import automated_reason
from connectors.mail.body import extract_body
from connectors.mail.dates import parse_date
from connectors.mail.headers import clean_message_id, decode_text_header, parse_id_list, parse_sender
from connectors.mail.htmltext import html_to_text

SEED = "commhealth-eval-corpus-1"
DEFAULT_MIRRORS = Path("/work/.mirror")
DEFAULT_OUT = Path("/work/evaldata")
MAX_CHARS = 3000  # longer messages are mostly pasted logs and code, not material for judging intent
PREV_CHARS = 600
# A longer thread keeps its first messages: the request, the answers and the first chasers.
MAX_CONVERSATION = 12
DEDUP_MIN_CHARS = 40  # short texts ("thanks!", "any update?") repeat naturally between conversations and stay

# Words of the signals the rules must find, so that the enriched slice holds them; the random slice is the measure.
ENRICH = re.compile(
    r"\b(?:still|any (?:update|news|progress)|bump|follow(?:ing)?[- ]up|ping|again|(?:you|u) mean"
    r"|not (?:work|working)|(?:doesn't|does not|didn't|did not|won't) work|logs?|screenshots?|unacceptable"
    r"|escalat\w*|relance\w*|toujours|des nouvelles|(?:vous voulez|tu veux) dire|si je comprends bien"
    r"|capture d'écran|journaux|à nouveau|de nouveau|inacceptable|ne (?:marche|fonctionne) (?:toujours )?pas"
    r"|je me permets)\b",
    re.IGNORECASE,
)
# Frequent words of one language that are rare in the other, to tell a message's language.
_EN_WORDS = frozenset(
    {"the", "and", "is", "are", "you", "your", "to", "of", "it", "this", "that", "with", "for", "have", "has",
     "not", "can", "what", "please", "thanks", "thank"}
)  # fmt: skip
_FR_WORDS = frozenset(
    {"le", "la", "les", "des", "est", "et", "vous", "je", "nous", "pas", "une", "un", "du", "pour", "que", "qui",
     "dans", "sur", "merci", "bonjour", "avec", "votre", "cette"}
)  # fmt: skip
_WORD = re.compile(r"[a-zà-ÿœ']+")
_DEDUP_DROP = re.compile(r"https?://\S+|@\w+|\d+")
_DEDUP_SPACE = re.compile(r"\W+")


class CorpusError(Exception):
    """Bad input the user can fix (a missing mirror or commit): reported as one line."""


@dataclass(frozen=True)
class Post:
    where: str  # path#place inside the repository: the tail of the message id
    author: str
    role: str | None
    sent_at: str | None
    text: str
    skip: str | None = None  # why this is not a person's message: bot, system event, deleted, automated
    # The commit holding it, when not the pinned one: a public-inbox keeps each mail in a commit of its own.
    commit: str | None = None


@dataclass(frozen=True)
class Conversation:
    key: str
    posts: list[Post]


class Git:
    """Read-only access to one mirror at one pinned commit."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit

    def _run(self, *args: str) -> bytes:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, check=True
        ).stdout

    def has_commit(self) -> bool:
        try:
            self._run("cat-file", "-e", f"{self.commit}^{{commit}}")
        except subprocess.CalledProcessError:
            return False
        return True

    def show(self, path: str) -> bytes:
        try:
            return self._run("cat-file", "blob", f"{self.commit}:{path}")
        except subprocess.CalledProcessError:
            raise CorpusError(f"the mirror at {self.git_dir} has no {path} at {self.commit[:12]}") from None

    def paths(self) -> list[str]:
        return sorted(self._run("ls-tree", "-r", "-z", "--name-only", self.commit).decode().split("\0")[:-1])

    def history(self) -> list[str]:
        """Commits reachable from the pinned one, oldest first."""
        return self._run("rev-list", "--reverse", self.commit).decode().split()

    def blobs(self, specs: list[str]) -> Iterator[bytes | None]:
        """Contents of `<rev>:<path>` specs in order through one `git cat-file --batch`; None when missing."""
        proc = subprocess.Popen(
            ["git", f"--git-dir={self.git_dir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None

        # A writer thread: the answers fill the pipe while the questions are still being written.
        def feed() -> None:
            with proc.stdin:
                proc.stdin.write("".join(f"{spec}\n" for spec in specs).encode())

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        for _ in specs:
            header = proc.stdout.readline().split()
            if len(header) != 3:  # "<spec> missing"
                yield None
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            yield data
        writer.join()
        proc.wait()


# --- readers: one per archive format, each returning conversations with their posts in order -----------------


# Ettus Research, NI (its owner since 2010), Emerson (NI's owner since 2023).
USRP_VENDOR_DOMAINS = (".ettus.com", ".ni.com", ".emerson.com")
USRP_LIST_ADDRESS = "usrp-users@lists.ettus.com"
_VIA_LIST = re.compile(r"\s+via\s+USRP-users$", re.IGNORECASE)


def _usrp_author(msg: Message) -> tuple[str | None, str | None]:
    """(address, name) of a list mail's author. For senders whose domain publishes DMARC, the list rewrites From
    as "Name via USRP-users <usrp-users@lists.ettus.com>" and keeps the author in Reply-To: without this, every
    such mail would come from one author, on the vendor's domain."""
    address, name, _ = parse_sender(msg.get("from"))
    if address != USRP_LIST_ADDRESS:
        return address, name
    reply_address, reply_name, _ = parse_sender(msg.get("reply-to"))
    if reply_address == USRP_LIST_ADDRESS:
        reply_address = None
    return reply_address, reply_name or _VIA_LIST.sub("", name or "") or None


def read_usrp(git: Git) -> list[Conversation]:
    """USRP-users (Ettus Research / NI): a public-inbox mirror, one mail per commit in the file `m`."""
    commits = git.history()
    mails: list[tuple[str, list[str], Post, str]] = []  # (own id, linked ids, post, sort key)
    for index, (commit, data) in enumerate(zip(commits, git.blobs([f"{c}:m" for c in commits]), strict=True)):
        if data is None:
            continue
        msg = email.message_from_bytes(data)
        subject, _ = decode_text_header(msg.get("subject"))
        reason = automated_reason({name: str(value) for name, value in msg.items()}, subject)
        address, name = _usrp_author(msg)
        when, _ = parse_date(msg.get("date"))
        body, _, _, _ = extract_body(msg)
        own = clean_message_id(msg.get("message-id")) or commit
        links = parse_id_list(msg.get("references"))[0] + parse_id_list(msg.get("in-reply-to"))[0]
        domain = "." + (address or "").rpartition("@")[2]
        post = Post(
            where="m",
            author=address or name or "",
            role="vendor" if domain.endswith(USRP_VENDOR_DOMAINS) else "customer",
            sent_at=when.isoformat() if when else None,
            text=_strip_list_footer(body),
            # Every list mail says Precedence: list; only auto-replies and bounces are automated here.
            skip="automated" if reason and reason != "header:precedence" else None,
            commit=commit,
        )
        mails.append((own, links, post, f"{post.sent_at or ''}|{index:08d}"))
    # A thread is every mail linked by References or In-Reply-To, named after its earliest mail.
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for own, links, _, _ in mails:
        for link in links:
            a, b = sorted((root(own), root(link)))
            parent[b] = a
    threads: dict[str, list[tuple[str, Post]]] = {}
    first_seen: dict[str, str] = {}
    for own, _, post, order in mails:
        top = root(own)
        threads.setdefault(top, []).append((order, post))
        first_seen[top] = min(first_seen.get(top, order), order)
    return [
        Conversation(hashlib.sha1(top.encode()).hexdigest()[:16], [post for _, post in sorted(items)])
        for top, items in sorted(threads.items(), key=lambda kv: first_seen[kv[0]])
    ]


_LIST_FOOTER = re.compile(r"\n_{20,}[ \t]*\nUSRP-users mailing list\b[^\n]*(?:\n[^\n_][^\n]*){0,3}\s*\Z")


def _strip_list_footer(body: str) -> str:
    """The body as its author wrote it: the footer the list server appends is not part of it."""
    return _LIST_FOOTER.sub("", body.rstrip()).strip()


def read_redash(git: Git) -> list[Conversation]:
    """Redash's Discourse forum (static archive): Redash's team are the site's admins and moderators."""
    about = git.show("about.html").decode("utf-8", "replace")
    staff = set(re.findall(r'<div class="user-info small" data-username="([^"]+)"', about))
    topics = [p for p in git.paths() if re.fullmatch(r"t/[^/]+/\d+\.html", p)]
    conversations = []
    for path, data in zip(topics, git.blobs([f"{git.commit}:{p}" for p in topics]), strict=True):
        page = (data or b"").decode("utf-8", "replace")
        # The page chrome before the posts is the same on every page: parsing starts after it.
        start = page.find('<div class="wrap" id="main-outlet"')
        soup = BeautifulSoup(page[max(start, 0) :], "html.parser")
        posts = []
        for node in soup.find_all("div", id=re.compile(r"^post_\d+$")):
            name = node.select_one(".creator [itemprop=name]")
            when = node.find("time")
            body = node.find("div", class_="post")
            author = name.get_text(strip=True) if name else ""
            posts.append(
                Post(
                    where=f"{path}#{node['id']}",
                    author=author,
                    role="staff" if author in staff else "user",
                    sent_at=when.get("datetime") if isinstance(when, Tag) else None,
                    text=_discourse_text(soup, body) if isinstance(body, Tag) else "",
                    skip="system" if author in ("system", "discobot") else None,
                )
            )
        conversations.append(Conversation(path, posts))
    return conversations


def _discourse_text(soup: BeautifulSoup, body: Tag) -> str:
    """A post's text as its reader sees it, with the posts it quotes kept as "> " lines under "name:"."""
    for meta in body.select("div.lightbox-wrapper div.meta"):  # "image.png 1280×720 52 KB"
        meta.decompose()
    for onebox in body.select("aside.onebox"):  # a link preview: the link is what the author wrote
        link = onebox.find("a", href=True)
        onebox.replace_with(soup.new_string(f" {link['href']} " if link else " "))
    # html_to_text folds white space and drops <blockquote> (mail history): code keeps its lines, quotes their "> ".
    for code in body.find_all("pre"):
        code.replace_with(_lines_block(soup, code.get_text().splitlines(), ""))
    for quote in body.find_all("blockquote"):
        if not quote.decomposed:
            quote.replace_with(_lines_block(soup, html_to_text(quote.decode_contents()).splitlines(), "> "))
    return html_to_text(body.decode_contents())


def _lines_block(soup: BeautifulSoup, lines: list[str], prefix: str) -> Tag:
    box = soup.new_tag("div")
    for line in lines:
        paragraph = soup.new_tag("p")
        paragraph.string = f"{prefix}{line}".rstrip()
        box.append(paragraph)
    return box


def read_twitter_care(git: Git) -> list[Conversation]:
    """IBM's Twitter customer-care conversations: 25 companies' care agents answering customers."""
    conversations = []
    for path in ("dev.json", "test.json"):
        for conv in json.loads(git.show(path)):
            company = conv["dialogHeader"]["company"]
            posts = [
                Post(
                    where=f"{path}#{turn['tweet_ID']}",
                    author=turn.get("agent") or turn.get("client") or "",
                    role="vendor" if "agent" in turn else "customer",
                    sent_at=turn.get("datetime"),
                    text=html.unescape(turn["message"]),
                )
                for turn in conv["dialogContent"]
            ]
            final = conv.get("agentURL")
            if final:  # the agent's closing answer with the document link is kept apart from the dialog
                posts.append(
                    Post(
                        f"{path}#{final['tweet_ID']}",
                        company,
                        "vendor",
                        None,
                        html.unescape(final["url_utterance"]),
                    )
                )
            conversations.append(Conversation(f"{path}#{conv['dialogHeader']['sessionID']}", posts))
    return conversations


DATAGOUV_CSV = "jdd/predicted_data_model2.csv"
_CLOSING = re.compile(r"(?:discussion close|fermeture de la discussion)\W*", re.IGNORECASE)


def read_datagouv(git: Git) -> list[Conversation]:
    """Discussions on the datasets of France's economy ministry on data.gouv.fr: users ask, the producer answers."""
    rows = csv.DictReader(io.StringIO(git.show(DATAGOUV_CSV).decode("utf-8")))
    threads: dict[str, list[tuple[str, int, Post]]] = {}
    for number, row in enumerate(rows, start=1):
        text = row["message"]
        skip = (
            "deleted" if text.strip() == "DELETED" else "system" if _CLOSING.fullmatch(text.strip()) else None
        )
        post = Post(
            f"{DATAGOUV_CSV}#{number}", row["user"], None, row["discussion_posted_on"] or None, text, skip
        )
        threads.setdefault(row["id_discussion"], []).append((row["discussion_posted_on"], number, post))
    return [Conversation(key, [post for *_, post in sorted(items)]) for key, items in threads.items()]


# The dataset's other years are files of 4 MiB and more, which the mirrors do not hold.
SLACK_FILES = (
    "data/clojurians/2019/merged-clojurians-clojure.xml",
    "data/elmlang/2019/merged-elmlang-general.xml",
    "data/racket/2017/merged-racket-general.xml",
    "data/racket/2018/merged-racket-general.xml",
    "data/racket/2019/merged-racket-general.xml",
)
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_SLACK_EVENT = re.compile(r"^<@[^>]+> has (?:joined|left) the channel$")


def read_slack_chats(git: Git) -> list[Conversation]:
    """Slack Q&A channels (clojurians, elmlang, racket), disentangled into conversations by the dataset's authors."""
    conversations: dict[str, list[Post]] = {}
    for path in SLACK_FILES:
        root = ET.fromstring(git.show(path))
        for index, node in enumerate(root.iter("message")):
            raw = node.findtext("text") or ""
            post = Post(
                where=f"{path}#{index}",
                author=node.findtext("user") or "",
                role=None,
                sent_at=node.findtext("ts"),
                text=html.unescape(_SLACK_LINK.sub(_slack_link, raw)),
                skip="join/leave" if _SLACK_EVENT.match(raw) else None,
            )
            conversations.setdefault(f"{path}#c{node.get('conversation_id')}", []).append(post)
    return [Conversation(key, posts) for key, posts in conversations.items()]


def _slack_link(found: re.Match[str]) -> str:
    """Slack's markup as the reader sees it: <@U1|ann> is @ann, <https://x|here> is here."""
    target, label = found.group(1), found.group(2)
    if target[:1] in "@!":
        return "@" + (label or target[1:])
    if target[:1] == "#":
        return "#" + (label or target[1:])
    return label or target


_HUBSPOT_DAY_FILE = re.compile(r"^channel_[^/]+/\d{4}/\d{2}/\d{4}-\d{2}-\d{2}\.json$")
_HUBSPOT_BOT_TEXT = re.compile(r"^(?:Reminder:|<@[^>]+> has (?:joined|left) the channel$)")


def read_hubspot_slack(git: Git) -> list[Conversation]:
    """HubSpot's developer community Slack: each thread (a post and the replies its `replies` list names, matched
    by time stamp in the same channel) is a conversation; posts nobody answered in a thread are left out (a
    thread-less channel message has no conversation to be judged in). The export stripped user ids and thread
    ids but kept each post's author handle."""
    day_files = [path for path in git.paths() if _HUBSPOT_DAY_FILE.match(path)]
    by_channel: dict[str, list[tuple[str, dict]]] = {}
    for path, data in zip(day_files, git.blobs([f"{git.commit}:{p}" for p in day_files]), strict=True):
        for item in json.loads(data or b"[]"):
            if isinstance(item, dict):  # a few day files hold nulls
                by_channel.setdefault(path.split("/", 1)[0], []).append((path, item))
    conversations = []
    for channel, items in sorted(by_channel.items()):
        at_time = {item.get("time_stamp"): (path, item) for path, item in items}
        for path, item in items:
            replies = [at_time.get(reply.get("time_stamp")) for reply in item.get("replies") or []]
            thread = [(path, item)] + [reply for reply in replies if reply is not None]
            if len(thread) < 2 or not (item.get("poster") or {}).get("poster_handle"):
                continue
            posts = []
            for where, post in thread:
                handle = (post.get("poster") or {}).get("poster_handle")
                raw = post.get("text") or ""
                posts.append(
                    Post(
                        where=f"{where}#{post.get('time_stamp')}",
                        author=handle or "",
                        role=None,
                        sent_at=(post.get("time_stamp") or "").replace(" ", "T") + "+00:00",
                        text=html.unescape(_SLACK_LINK.sub(_slack_link, raw)),
                        skip="no author" if not handle else "bot" if _HUBSPOT_BOT_TEXT.match(raw) else None,
                    )
                )
            conversations.append(Conversation(f"{channel}#{item.get('time_stamp')}", posts))
    return conversations


_MONDAY_TOPIC = re.compile(r"^dist/api/topics/\d+\.json$")
# Staff notes the forum's support tooling left as posts: not written to anyone.
_MONDAY_SYSTEM_TEXT = re.compile(r"^\s*exclude_reply_from_sla\s*$")


def read_monday(git: Git) -> list[Conversation]:
    """monday.com's developer and user community forum (a static copy of its Discourse API): monday.com's team
    post under handles ending in ".Monday" (`staff`), everyone else is a `user`."""
    topics = [path for path in git.paths() if _MONDAY_TOPIC.match(path)]
    conversations = []
    for path, data in zip(topics, git.blobs([f"{git.commit}:{p}" for p in topics]), strict=True):
        topic = json.loads(data or b"{}")
        posts = []
        for post in topic.get("posts") or []:
            # "handle (Display Name)": the handle is the author
            author = (post.get("author") or "").split(" (", 1)[0].strip()
            soup = BeautifulSoup(post.get("cookedHtml") or "", "html.parser")
            text = _discourse_text(soup, soup) if soup.contents else ""
            skip = "system" if author in ("system", "discobot") or _MONDAY_SYSTEM_TEXT.match(text) else None
            posts.append(
                Post(
                    where=f"{path}#{post.get('id')}",
                    author=author,
                    role="staff" if author.lower().endswith(".monday") else "user",
                    sent_at=post.get("createdAt"),
                    text=text,
                    skip=skip,
                )
            )
        conversations.append(Conversation(path, posts))
    return conversations


# --- sources, pinned -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    repo: str  # owner/name on GitHub
    commit: str
    lang: str  # the source's language, when a message's own words do not say otherwise
    channel: str
    read: Callable[[Git], list[Conversation]]
    random_quota: int  # messages taken from conversations drawn at random
    enriched_quota: int  # messages taken from conversations holding ENRICH words


SOURCES = (
    Source(
        "usrp-users",
        "linux-mailinglist-archives/usrp-users.lists.ettus.com.0",
        "ca763a0eab9f857948f294e78103c609e477dc34",
        "en",
        "email",
        read_usrp,
        480,
        120,
    ),
    Source(
        "redash-discourse",
        "getredash/discourse-archive",
        "9e1f5c2e26477e58986043c289e1630eaccd22f8",
        "en",
        "forum",
        read_redash,
        380,
        100,
    ),
    Source(
        "twitter-care",
        "IBM/twitter-customer-care-document-prediction",
        "453470eea55a1777f798053a6ac6302a9bf80f9a",
        "en",
        "chat",
        read_twitter_care,
        320,
        80,
    ),
    Source(
        "slack-qa",
        "preethac/Software-related-Slack-Chats-with-Disentangled-Conversations",
        "880441597fe2109a87b4db928d2f3e026e06e246",
        "en",
        "slack",
        read_slack_chats,
        260,
        80,
    ),
    Source(
        "datagouv-mef",
        "139bercy/opendata-threads-categoria",
        "f9354fd45b685021c71957cee35ef870759a5985",
        "fr",
        "forum",
        read_datagouv,
        560,
        140,
    ),
    Source(
        "hubspot-devslack",
        "hubspotdev/devslackarchive",
        "9b76cf5a6943d98f0c8b5ff3bab6e60956619d4a",
        "en",
        "slack",
        read_hubspot_slack,
        450,
        200,
    ),
    Source(
        "monday-community",
        "davidsimpsonapps/monday-community-archive",
        "ed6d92dfc8e53a7930a57ee63b300b105c25277c",
        "en",
        "forum",
        read_monday,
        500,
        200,
    ),
)


# --- sampling --------------------------------------------------------------------------------------------------


def detect_lang(text: str, default: str) -> str:
    """en or fr by their commonest words; the source's language when the words do not tell."""
    words = _WORD.findall(text.lower())
    en = sum(word in _EN_WORDS for word in words)
    fr = sum(word in _FR_WORDS for word in words)
    if fr >= 2 and fr > 2 * en:
        return "fr"
    if en >= 2 and en > 2 * fr:
        return "en"
    return default


def _dedup_key(text: str) -> str | None:
    """Texts equal but for links, mentions, numbers, case and punctuation share a key; short texts have none."""
    key = _DEDUP_SPACE.sub(" ", _DEDUP_DROP.sub(" ", text.lower())).strip()
    return key if len(key) >= DEDUP_MIN_CHARS else None


def _pseudonym(author: str) -> str | None:
    return hashlib.sha1(author.encode()).hexdigest()[:10] if author else None


@dataclass
class Tally:
    """Per sample kind: conversations and messages taken; per reason: messages left out."""

    conversations: Counter[str]
    messages: Counter[str]
    dropped: Counter[str]


def sample(source: Source, conversations: list[Conversation], seen: set[str]) -> tuple[list[dict], Tally]:
    """Records of the conversations drawn for `source`; `seen` holds the dedup keys of every source so far."""
    tally = Tally(Counter(), Counter(), Counter())
    cleaned = []
    for conv in conversations:
        posts = []
        for post in conv.posts:
            if post.skip:
                tally.dropped[post.skip] += 1
            elif not post.text.strip():
                tally.dropped["empty"] += 1
            else:
                posts.append(post)
        if posts:
            cleaned.append(Conversation(conv.key, posts[:MAX_CONVERSATION]))
    rng = random.Random(f"{SEED}:{source.name}")
    rng.shuffle(cleaned)
    records: list[dict] = []
    taken: set[str] = set()
    for kind, quota, eligible in (
        ("random", source.random_quota, lambda conv: True),
        ("enriched", source.enriched_quota, lambda conv: any(ENRICH.search(p.text) for p in conv.posts)),
    ):
        count = 0
        for conv in cleaned:
            if count >= quota:
                break
            if conv.key in taken or not eligible(conv):
                continue
            taken.add(conv.key)
            added = _conversation_records(source, conv, kind, seen, tally.dropped)
            if added:
                records.extend(added)
                count += len(added)
                tally.conversations[kind] += 1
                tally.messages[kind] += len(added)
    return records, tally


def _conversation_records(
    source: Source, conv: Conversation, kind: str, seen: set[str], dropped: Counter[str]
) -> list[dict]:
    records = []
    for position, post in enumerate(conv.posts):
        text = post.text.strip()
        if len(text) > MAX_CHARS:
            dropped["too long"] += 1
            continue
        key = _dedup_key(text)
        if key is not None and key in seen:
            dropped["near-duplicate"] += 1
            continue
        if key is not None:
            seen.add(key)
        previous = conv.posts[position - 1].text.strip()[:PREV_CHARS] if position else None
        commit = post.commit or source.commit
        records.append(
            {
                "id": f"gh:{source.repo}@{commit[:12]}:{post.where}",
                "source": source.name,
                "lang": detect_lang(text, source.lang),
                "channel": source.channel,
                "conversation_id": f"{source.name}:{conv.key}",
                "position": position,
                "author_role": post.role,
                "author_key": _pseudonym(post.author),
                "sent_at": post.sent_at,
                "text": text,
                "prev_text": previous,
                "text_sha1": hashlib.sha1(text.encode()).hexdigest(),
                "sample": kind,
            }
        )
    return records


# --- command ---------------------------------------------------------------------------------------------------


def open_mirror(mirrors: Path, source: Source) -> Git:
    base = mirrors / source.repo.replace("/", "+") / "repo"
    git_dir = base / ".git" if (base / ".git").is_dir() else base
    if not (git_dir / "HEAD").is_file():
        raise CorpusError(f"no mirror of {source.repo} at {base} (fetch github:{source.repo} first)")
    git = Git(git_dir, source.commit)
    if not git.has_commit():
        raise CorpusError(
            f"the mirror of {source.repo} at {base} lacks the pinned commit {source.commit[:12]}"
        )
    return git


def build(mirrors: Path, sources: tuple[Source, ...] = SOURCES) -> tuple[list[dict], dict[str, Tally]]:
    records: list[dict] = []
    tallies: dict[str, Tally] = {}
    seen: set[str] = set()
    gits = [open_mirror(mirrors, source) for source in sources]  # every mirror checked before the long reads
    for source, git in zip(sources, gits, strict=True):
        taken, tallies[source.name] = sample(source, source.read(git), seen)
        records.extend(taken)
    return records, tallies


def write(records: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / "messages.jsonl"
    partial = target.with_suffix(".jsonl.part")
    with partial.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    partial.replace(target)
    return target


def summary(records: list[dict], tallies: dict[str, Tally]) -> str:
    lines = []
    for name, tally in tallies.items():
        mine = [r for r in records if r["source"] == name]
        langs = Counter(r["lang"] for r in mine)
        roles = Counter(r["author_role"] or "unknown" for r in mine)
        lines.append(
            f"{name}: {len(mine)} messages in {sum(tally.conversations.values())} conversations"
            f" (random {tally.messages['random']} in {tally.conversations['random']},"
            f" enriched {tally.messages['enriched']} in {tally.conversations['enriched']});"
            f" lang {dict(sorted(langs.items()))}; roles {dict(sorted(roles.items()))};"
            f" left out {dict(sorted(tally.dropped.items()))}"
        )
    for field_name in ("lang", "channel", "sample"):
        counts = Counter(r[field_name] for r in records)
        lines.append(f"by {field_name}: {dict(sorted(counts.items()))}")
    lines.append(f"total: {len(records)} messages")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="where the git mirrors are")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for messages.jsonl (outside the repo)"
    )
    args = parser.parse_args(argv)
    try:
        records, tallies = build(args.mirrors)
    except CorpusError as exc:
        print(f"corpus: {exc}", file=sys.stderr)
        return 2
    target = write(records, args.out)
    print(summary(records, tallies))
    print(f"written: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
