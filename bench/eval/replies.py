"""New text against other projects' reply-parsing test suites (issue 14).

    python -m bench.eval.replies [--mirrors /work/.mirror] [--failures]

Reads the test cases of public reply parsers from git mirrors at pinned commits (`<mirrors>/<owner>+<name>/repo`, a
bare clone or a clone with a work tree, as the `fetch` tool leaves them), runs commhealth's extractor on each body
(plain text: `extract_new_text`; HTML: `html_to_texts` then `extract_new_text`, as ingestion does) and scores it the
way each suite scores its own parser. The suites' texts are not copied into this repository: cases are read from the
mirrors each time, and where a suite asserts on its parser's fragments rather than on a text, the expected text is
written here as line numbers of the pinned fixture. Sources, licences and attribution: bench/eval/SOURCES.md.

What counts as a pass (`passes`):
- both texts are compared after the same white-space rules: line ends made LF, trailing blanks of each line
  dropped, runs of blank lines made one, the ends stripped (`text`). Suites that compare their parser's fragments
  (github, crisp) join fragments with line breaks of their own: there only the non-blank lines are compared
  (`lines`). Suites that compare HTML with all white space removed (talon's HTML tests) are compared the same way,
  on the visible text of the expected HTML (`nospace`);
- commhealth removes sign-offs, signatures and device lines by design ("Thanks,\\nAlex", "Best regards,\\n\\nAlex",
  "-Abhishek Kona", "Sent from my iPhone", up to four lines under a "-- " delimiter), where talon leaves them to a
  separate signature extractor and other parsers mark them as hidden fragments: an expected text that ends with
  one also passes without it, and our text is compared with and without its own last sign-off ("Thanks," left
  where the name under it went) (`_without_signature`);
- a suite's check that the first fragment contains a phrase ("must keep 'with regards to the payment'") passes when
  the new text contains it (`contains`).
"""

from __future__ import annotations

import argparse
import ast
import email
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

from bench.eval.corpus import DEFAULT_MIRRORS, CorpusError, Git, open_mirror
from connectors.mail.htmltext import html_to_texts
from connectors.mail.newtext import extract_new_text


@dataclass(frozen=True)
class Case:
    """One expected new text: `body` in, `expected` out, compared with `compare`."""

    name: str
    body: str
    expected: str
    compare: str = "text"  # text | lines | nospace | contains
    html: bool = False


@dataclass(frozen=True)
class Suite:
    name: str
    repo: str
    commit: str
    licence: str
    # The suite's own parser on the same cases, as published or measured (SOURCES.md says how).
    reference: str
    read: Callable[[Git], list[Case]]


@dataclass
class Result:
    suite: str
    cases: int = 0
    passed: int = 0
    failures: list[tuple[Case, str]] = field(default_factory=list)


# --- comparison ------------------------------------------------------------------------------------------------

_BLANK_RUN = re.compile(r"\n{3,}")
_SPACE = re.compile(r"\s")
# What commhealth cuts as a signature and other parsers keep: a last paragraph that is a closing phrase with at
# most a name under it, a "-Name" line, or a device line.
_SIGNATURE_TAIL = re.compile(
    r"\n\s*(?:"
    r"(?:thanks|thank you|many thanks|cheers|regards|best regards|kind regards|best|sincerely|cordialement"
    r"|merci)[ \t]*[,.!]?[ \t]*(?:(?:\n[ \t]*){0,2}[^\n]{1,40})?"
    r"|-[ \t]*[A-Z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*){0,2}"
    r"|sent from my [^\n]{1,60}"
    r"|--[ \t]?\n[^\n]{0,80}(?:\n[^\n]{0,80}){0,3}"  # a signature block under the "-- " delimiter
    r")\s*\Z",
    re.IGNORECASE,
)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    return _BLANK_RUN.sub("\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in _tidy(text).split("\n") if line.strip()]


def _without_signature(text: str) -> str:
    return _SIGNATURE_TAIL.sub("", "\n" + _tidy(text)).strip()


def passes(case: Case, got: str) -> bool:
    """True when `got` is the new text `case` expects, compared as its suite compares (module docstring)."""
    if case.compare == "contains":
        return re.search(case.expected, got) is not None
    pairs = [
        (g, e)
        for g in (got, _without_signature(got))
        for e in (case.expected, _without_signature(case.expected))
    ]
    if case.compare == "nospace":
        return any(_SPACE.sub("", g) == _SPACE.sub("", e) for g, e in pairs)
    if case.compare == "lines":
        return any(_lines(g) == _lines(e) for g, e in pairs)
    return any(_tidy(g) == _tidy(e) for g, e in pairs)


def new_text(case: Case) -> str:
    """What ingestion stores as body_text for this body."""
    return extract_new_text(html_to_texts(case.body)[1] if case.html else case.body)


# --- mailgun/talon: its Python tests, read with `ast` (never run) ------------------------------------------------


@dataclass(frozen=True)
class _File:
    path: str


@dataclass(frozen=True)
class _Extracted:
    """What talon's extract_from_plain / extract_from_html would return for `body`."""

    body: str
    html: bool


@dataclass(frozen=True)
class _NoSpace:
    value: object  # RE_WHITESPACE.sub('', value): compared without white space


class _TalonTests:
    """Evaluates the simple statements of talon's tests (assignments of strings, eq_ on extract_from_*) statically.

    Only string literals, .format/.replace/six.text_type on them, reading fixture files and the helpers defined
    in the same module are understood; a test using anything else yields no case.
    """

    def __init__(self, git: Git) -> None:
        self.git = git
        self.fixtures: dict[str, object] = {}
        self._run_module_level(ast.parse(git.show("tests/fixtures/__init__.py")), self.fixtures)

    def cases(self, path: str) -> list[Case]:
        tree = ast.parse(self.git.show(path))
        helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        out: list[Case] = []
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_") or _mocks(node):
                continue
            found: list[tuple[object, object]] = []
            self._run(node.body, dict(self.fixtures), helpers, found)
            for index, (expected, got) in enumerate(found):
                name = f"{path}::{node.name}" + (f"#{index + 1}" if len(found) > 1 else "")
                out.append(self._case(name, expected, got))
        return out

    @staticmethod
    def _case(name: str, expected: object, got: object) -> Case:
        nospace = isinstance(expected, _NoSpace) or isinstance(got, _NoSpace)
        expected = expected.value if isinstance(expected, _NoSpace) else expected
        got = got.value if isinstance(got, _NoSpace) else got
        assert isinstance(got, _Extracted) and isinstance(expected, str)
        if got.html:
            # talon returns HTML and compares it without white space: compare its visible text the same way.
            visible = BeautifulSoup(expected, "html.parser").get_text() if "<" in expected else expected
            return Case(name, got.body, visible, "nospace", html=True)
        return Case(name, got.body, expected, "nospace" if nospace else "text")

    def _run_module_level(self, tree: ast.Module, env: dict[str, object]) -> None:
        for statement in tree.body:
            if isinstance(statement, ast.Assign | ast.With):
                self._run([statement], env, {}, [])

    def _run(
        self,
        body: list[ast.stmt],
        env: dict[str, object],
        helpers: dict[str, ast.FunctionDef],
        found: list[tuple[object, object]],
    ) -> None:
        for statement in body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        try:
                            env[target.id] = self._eval(statement.value, env)
                        except _Unsupported:
                            env.pop(target.id, None)  # unknown from here on: a case that needs it is skipped
                continue
            if isinstance(statement, ast.With):
                for item in statement.items:
                    if isinstance(item.optional_vars, ast.Name):
                        env[item.optional_vars.id] = self._eval(item.context_expr, env)
                self._run(statement.body, env, helpers, found)
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                call = statement.value
                name = _call_name(call)
                if name == "eq_" and len(call.args) >= 2:
                    try:
                        expected, got = (self._eval(arg, env) for arg in call.args[:2])
                    except _Unsupported:
                        continue
                    if _is_extracted(expected):
                        expected, got = got, expected
                    if _is_extracted(got):
                        found.append((expected, got))
                    continue
                if name in helpers:
                    helper = helpers[name]
                    local = dict(self.fixtures)
                    try:
                        local.update(
                            zip(
                                (a.arg for a in helper.args.args),
                                [self._eval(a, env) for a in call.args],
                                strict=False,  # a helper's defaulted parameters may be left out
                            )
                        )
                    except _Unsupported:
                        continue
                    self._run(helper.body, local, helpers, found)
            # Anything else (assertions other than eq_, conditions, loops) gives no case.

    def _eval(self, node: ast.expr, env: dict[str, object]) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._eval(node.left, env), self._eval(node.right, env)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
        if isinstance(node, ast.Call):
            name = _call_name(node)
            args = [self._eval(arg, env) for arg in node.args]
            if name in ("extract_from_plain", "extract_from_html") and args and isinstance(args[0], str):
                return _Extracted(args[0], html=name == "extract_from_html")
            if name == "html_to_text" and args and isinstance(args[0], _Extracted):
                return args[0]  # talon's own HTML to text of its output: ours does the same in new_text()
            if name == "sub" and len(args) == 2 and args[0] == "":  # RE_WHITESPACE.sub('', x)
                return _NoSpace(args[1])
            if name in ("text_type", "str") and len(args) == 1:
                return args[0]
            if name == "open" and args and isinstance(args[0], str):
                return _File(args[0])
            if isinstance(node.func, ast.Attribute):
                owner = self._eval(node.func.value, env)
                if isinstance(owner, _File) and name == "read":
                    return self.git.show(owner.path).decode("utf-8")
                if (
                    isinstance(owner, str)
                    and name in ("format", "replace", "strip")
                    and all(isinstance(arg, str) for arg in args)
                ):
                    return getattr(owner, name)(*args)
        raise _Unsupported


class _Unsupported(Exception):
    """A statement or expression the static reading of talon's tests does not understand."""


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_extracted(value: object) -> bool:
    return isinstance(value.value if isinstance(value, _NoSpace) else value, _Extracted)


def _mocks(test: ast.FunctionDef) -> bool:
    """True when the test replaces one of talon's functions with a mock: it tests talon's error handling.
    A patched constant (@patch.object(quotations, 'MAX_LINES_COUNT', 1)) leaves the expected reply as it is."""
    for decorator in test.decorator_list:
        if not (isinstance(decorator, ast.Call) and len(decorator.args) == 3):
            return True
        if not isinstance(decorator.args[2], ast.Constant):
            return True
    return False


def read_talon(git: Git) -> list[Case]:
    tests = _TalonTests(git)
    cases = tests.cases("tests/text_quotations_test.py") + tests.cases("tests/html_quotations_test.py")
    # test_standard_replies: the text/plain part of each .eml must give its `_reply_text` file, else "Hello".
    folder = "tests/fixtures/standard_replies/"
    names = [p for p in git.paths() if p.startswith(folder)]
    for path in names:
        if not path.endswith(".eml"):
            continue
        msg = email.message_from_bytes(git.show(path))
        plain = next(email.iterators.typed_subpart_iterator(msg, subtype="plain"), None)
        if plain is None:
            continue
        body = (plain.get_payload(decode=True) or b"").decode("utf-8")
        reply = path[: -len(".eml")] + "_reply_text"
        expected = git.show(reply).decode("utf-8").strip() if reply in names else "Hello"
        cases.append(Case(path, body, expected))
    return cases


# --- github/email_reply_parser: fixtures, with the expected text as line numbers ---------------------------------

# The suite asserts on fragments: the visible ones, not quoted, make the reply. Line numbers (1-based, inclusive)
# of each fixture at the pinned commit, written from the test's assertions; quoted lines that github keeps visible
# above a bottom post (email_1_2, email_1_8) are quoted history here.
GITHUB_EXPECTED = {
    "correct_sig": "1",  # "-- " then a name: the signature fragment is hidden
    "email_1_1": "1-5",  # "-Abhishek Kona" and the list footer are signature fragments
    "email_1_2": "1,9-34",  # bottom post: the answer under the quote
    "email_1_3": "1-3",
    "email_1_4": "1",
    "email_1_5": "1-15",  # one fragment
    "email_1_6": "1-3",  # "Sent from a magnificent torch of pixels" is not "Sent from my ..."
    "email_1_7": "1",
    "email_1_8": "13,19",  # inline answers between quotes, then a "--" signature
    "email_2_1": "1",
    "email_2_2": "1",
    "email_2_3": "1",
    "email_BlackBerry": "1",
    "email_bullets": "1-9",
    "email_iPhone": "1",
    "email_long_quote": "1-4,6-8",
    "email_multi_word_sent_from_my_mobile_device": "1",
    "email_one_is_not_on": "1-5",
    "email_sent_from_my_not_signature": "1-3",
    "email_sig_delimiter_in_middle_of_line": "1-7",
    "greedy_on": "1-6",
    "pathological": "1-2",
}


def _pick_lines(text: str, spec: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    picked: list[str] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        picked.extend(lines[int(first) - 1 : int(last or first)])
    return "\n".join(picked)


def read_github(git: Git) -> list[Case]:
    cases = []
    for name, spec in GITHUB_EXPECTED.items():
        body = git.show(f"test/emails/{name}.txt").decode("utf-8")
        cases.append(Case(f"test/emails/{name}.txt", body, _pick_lines(body, spec), "lines"))
    return cases


# --- discourse/email_reply_trimmer: test/emails/X.txt trimmed must equal test/trimmed/X.txt ----------------------


def read_discourse(git: Git) -> list[Case]:
    cases = []
    for path in git.paths():
        if path.startswith("test/emails/") and path.endswith(".txt"):
            trimmed = path.replace("test/emails/", "test/trimmed/", 1)
            body, expected = git.show(path).decode("utf-8"), git.show(trimmed).decode("utf-8")
            cases.append(Case(path, body, expected))
    return cases


# --- crisp-oss/email-reply-parser: its JavaScript tests, read with regular expressions --------------------------

_JS_FUNCTION = re.compile(r"^export function (\w+)\(test\)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
_JS_FIXTURE = re.compile(r'get_email\("([^"]+)"\)')
_JS_STRING = r'"(?:[^"\\\n]|\\.)*"'
_JS_FIRST = r"(?:fragments\[0\](?:\.toString\(\))?(?:\.trim\(\))?|email\.getVisibleText\(\)|text)"
_JS_EQUAL = re.compile(rf"test\.equal\((COMMON_FIRST_FRAGMENT|{_JS_STRING}),\s*{_JS_FIRST}\)")
_JS_CONTAINS = re.compile(rf"test\.equal\(true,\s*/((?:[^/\\\n]|\\.)+)/\.test\({_JS_FIRST}\)\)")
_JS_CONSTANT = re.compile(r"const COMMON_FIRST_FRAGMENT = '((?:[^'\\]|\\.|\\\n)*)';", re.DOTALL)


def _js_string(literal: str) -> str:
    """A JavaScript string literal's value (the escapes these tests use)."""
    literal = literal.replace("\\\n", "")  # a backslash at the end of a line continues the string
    return _JS_ESCAPE.sub(_js_unescape, literal)


_JS_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)")
_JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _js_unescape(found: re.Match[str]) -> str:
    code = found.group(1)
    if code.startswith("u"):
        return chr(int(code.strip("u{}"), 16))
    return _JS_ESCAPES.get(code, code)


def read_crisp(git: Git) -> list[Case]:
    source = git.show("test/test.js").decode("utf-8")
    constant = _JS_CONSTANT.search(source)
    if constant is None:
        raise CorpusError("crisp-oss/email-reply-parser: COMMON_FIRST_FRAGMENT not found in test/test.js")
    common = _js_string(constant.group(1))
    cases = []
    for function in _JS_FUNCTION.finditer(source):
        name, code = function.groups()
        fixture = _JS_FIXTURE.search(code)
        if fixture is None:
            continue
        path = f"test/fixtures/{fixture.group(1)}.txt"
        body = git.show(path).decode("utf-8")
        for found in _JS_EQUAL.finditer(code):
            value = common if found.group(1) == "COMMON_FIRST_FRAGMENT" else _js_string(found.group(1)[1:-1])
            cases.append(Case(f"{path}::{name}", body, value, "lines"))
        for found in _JS_CONTAINS.finditer(code):
            cases.append(Case(f"{path}::{name}", body, found.group(1), "contains"))
    return cases


SUITES = (
    Suite(
        "talon",
        "mailgun/talon",
        "71d9b6eb78e985bcdfbf99b69c20c001b4b818c4",
        "Apache-2.0",
        "talon 1.6.0: 90/93 (issue 14)",
        read_talon,
    ),
    Suite(
        "github",
        "github/email_reply_parser",
        "59e5859cfe826d3cb6069bbbfd8577230c93b3cf",
        "MIT",
        "email_reply_parser: its whole test suite passes",
        read_github,
    ),
    Suite(
        "discourse",
        "discourse/email_reply_trimmer",
        "117fd1a2703d110651d4faec09b12dc1fc22f237",
        "MIT",
        "email_reply_trimmer: its whole test suite passes",
        read_discourse,
    ),
    Suite(
        "crisp",
        "crisp-oss/email-reply-parser",
        "0b3704c8744d6f57ae1d86d7eab75535c51d2f5c",
        "MIT",
        "email-reply-parser (crisp): its whole test suite passes",
        read_crisp,
    ),
)


def available(mirrors: Path, suites: tuple[Suite, ...] = SUITES) -> Iterator[tuple[Suite, Git | str]]:
    """Each suite with its mirror, or with the one line that says why it cannot be read."""
    for suite in suites:
        try:
            yield suite, open_mirror(mirrors, suite)  # type: ignore[arg-type]
        except CorpusError as exc:
            yield suite, str(exc)


def run(mirrors: Path, suites: tuple[Suite, ...] = SUITES) -> tuple[list[Result], list[str]]:
    """Scores per suite, and one line per suite whose mirror is missing."""
    results, missing = [], []
    for suite, git in available(mirrors, suites):
        if isinstance(git, str):
            missing.append(f"{suite.name}: {git}")
            continue
        result = Result(suite.name)
        for case in suite.read(git):
            got = new_text(case)
            result.cases += 1
            if passes(case, got):
                result.passed += 1
            else:
                result.failures.append((case, got))
        results.append(result)
    return results, missing


def report(mirrors: Path) -> tuple[dict, list[str]]:
    """The "new text" section of `make eval`: our score beside each suite's own parser."""
    results, missing = run(mirrors)
    by_name = {suite.name: suite for suite in SUITES}
    lines = ["## New text: other projects' reply-parsing suites", ""]
    data: dict = {"suites": {}, "missing": missing}
    if results:
        lines += [
            (
                "Each suite's cases through commhealth's extractor, scored as the suite scores its own parser "
                "(bench/eval/replies.py says how)."
            ),
            "",
            "| suite | pinned commit | commhealth | the suite's own parser |",
            "|---|---|---|---|",
        ]
    for result in results:
        suite = by_name[result.suite]
        lines.append(
            f"| {suite.repo} | `{suite.commit[:12]}` | {result.passed}/{result.cases} | {suite.reference} |"
        )
        data["suites"][suite.name] = {
            "repo": suite.repo,
            "commit": suite.commit,
            "cases": result.cases,
            "passed": result.passed,
            "reference": suite.reference,
            "failed": [case.name for case, _ in result.failures],
        }
    lines += ["", *[f"Not scored: {line}" for line in missing]]
    return data, lines


def _clip(text: str, limit: int = 600) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit // 2]} … {shown[-limit // 2 :]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.replies", description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="where the git mirrors are")
    parser.add_argument("--failures", action="store_true", help="print each failed case: expected, got")
    args = parser.parse_args(argv)
    results, missing = run(args.mirrors)
    for line in missing:
        print(f"not scored: {line}", file=sys.stderr)
    for result in results:
        print(f"{result.suite}: {result.passed}/{result.cases}")
        if args.failures:
            for case, got in result.failures:
                print(f"--- {case.name} ({case.compare})")
                print(f"expected: {_clip(case.expected)}\ngot:      {_clip(got)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
