"""Every statement about AWS links to the AWS page that states it: the links are checked here.

No network: a link is checked for its form and its host, not fetched. Links to AWS must go to
AWS's own documentation (docs.aws.amazon.com, or aws.amazon.com for pricing and product pages)
over https, in English (a learner cited a page should read what the link's text claims), and
every walkthrough and lab carries at least one. The documentation AWS publishes for its libraries
(boto3, Powertools for AWS Lambda) has hosts of its own; a link there is accepted, over https, but
does not count as citing AWS's documentation of a service.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from workshop.core.paths import PROJECT_ROOT as ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
DOCUMENTS = [ROOT / "README.md", ROOT / "INSTRUCTOR.md", ROOT / "TROUBLESHOOTING.md"]

AWS_DOC_HOSTS = {"docs.aws.amazon.com", "aws.amazon.com"}
AWS_LIBRARY_DOC_HOSTS = {"boto3.amazonaws.com", "docs.powertools.aws.dev"}
# Hosts that belong to AWS: a link to any of them must be a link to the documentation hosts above.
_AWS_SUFFIXES = ("amazon.com", "amazonaws.com", "amazonaws.cn", "aws.dev", ".aws")
_LOCALE = re.compile(r"^/[a-z]{2}_[a-z]{2}/")

_FENCE = re.compile(r"^( {0,3})(```|~~~).*?^\1\2[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
# [text](url) or [text](url "title"); the text may hold one level of brackets and span lines.
_INLINE = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^\s)>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_AUTOLINK = re.compile(r"<(https?://[^>\s]*)>")


def markdown_links(markdown: str) -> list[str]:
    """The targets of the markdown's links (inline, reference and autolinks), code left out."""
    prose = _CODE_SPAN.sub("", _FENCE.sub("", markdown))
    return _INLINE.findall(prose) + _REFERENCE.findall(prose) + _AUTOLINK.findall(prose)


def links_of(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        return [link for cell in cells if cell.cell_type == "markdown" for link in markdown_links(cell.source)]
    return markdown_links(path.read_text(encoding="utf-8"))


def is_aws(host: str) -> bool:
    return host == "aws" or any(
        host == suffix.lstrip(".") or host.endswith("." + suffix.lstrip(".")) for suffix in _AWS_SUFFIXES
    )


def is_aws_documentation(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in AWS_DOC_HOSTS


def web_link_problem(url: str) -> str | None:
    """Why a http(s) link is malformed, or None."""
    parts = urlsplit(url)
    if not parts.hostname or "." not in parts.hostname and parts.hostname != "localhost":
        return "has no host"
    if re.search(r"\s", url):
        return "contains whitespace"
    if url[-1] in ".,;:!?'\"":
        return "ends in punctuation (part of the sentence, not of the address)"
    if url.count("(") != url.count(")") or url.count("[") != url.count("]"):
        return "has unbalanced brackets"
    if parts.port is not None and not 0 < parts.port < 65536:
        return "has an impossible port"
    return None


def link_problems(path: Path) -> list[str]:
    problems = []
    for url in links_of(path):
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            continue  # relative links (README -> INSTRUCTOR.md) are the files' own business
        if (problem := web_link_problem(url)) is not None:
            problems.append(f"{url} {problem}")
            continue
        parts = urlsplit(url)
        if is_aws(parts.hostname or ""):
            if parts.hostname in AWS_LIBRARY_DOC_HOSTS and parts.scheme == "https":
                continue
            if not is_aws_documentation(url):
                problems.append(
                    f"{url} links to AWS, but not to AWS's documentation over https "
                    f"({', '.join(sorted(AWS_DOC_HOSTS))})"
                )
            elif _LOCALE.match(parts.path):
                problems.append(f"{url} links to a translation; link the English page")
    return problems


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS + LABS + DOCUMENTS, ids=name)
def test_links_are_well_formed_and_aws_links_go_to_aws_documentation(path):
    problems = link_problems(path)
    assert not problems, f"{name(path)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=name)
def test_each_walkthrough_and_lab_cites_aws_documentation(path):
    cited = [url for url in links_of(path) if is_aws_documentation(url)]
    assert cited, (
        f"{name(path)} states how AWS behaves without linking a single AWS documentation page: "
        "link each statement to the page that states it"
    )


def test_the_link_reader_sees_what_a_reader_sees():
    markdown = """A [claim](https://docs.aws.amazon.com/a.html) and [another
across lines](https://aws.amazon.com/kms/pricing/ "pricing"), an <https://aws.amazon.com/s3/>,
`[not a link](http://127.0.0.1:4566)` and a [`code` text](https://docs.aws.amazon.com/b.html).

```python
print("[also not](http://localhost:1)")
```

[ref]: https://docs.aws.amazon.com/c.html
"""
    assert sorted(markdown_links(markdown)) == [
        "https://aws.amazon.com/kms/pricing/",
        "https://aws.amazon.com/s3/",
        "https://docs.aws.amazon.com/a.html",
        "https://docs.aws.amazon.com/b.html",
        "https://docs.aws.amazon.com/c.html",
    ]


@pytest.mark.parametrize(
    "url, wrong",
    [
        ("http://docs.aws.amazon.com/lambda/latest/dg/welcome.html", "not over https"),
        ("https://repost.aws/knowledge-center/sqs-fifo-messages-not-returned", "not documentation"),
        ("https://docs.amazonaws.cn/en_us/AmazonS3/latest/userguide/NotificationHowTo.html", "a mirror"),
        ("https://s3.amazonaws.com/some-bucket/page.html", "not a documentation host"),
        ("http://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html", "not over https"),
        ("https://docs.aws.amazon.com/ja_jp/AmazonS3/latest/userguide/NotificationHowTo.html", "a translation"),
        ("https://docs.aws.amazon.com/AmazonS3/latest/userguide/NotificationHowTo.html.", "sentence punctuation"),
        ("https://", "no host"),
    ],
)
def test_links_that_are_refused(tmp_path, url, wrong):
    page = tmp_path / "page.md"
    page.write_text(f"See [the page]({url}).\n")
    assert link_problems(page), f"{url} should be refused ({wrong})"


def test_links_that_are_accepted(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "[S3](https://docs.aws.amazon.com/AmazonS3/latest/userguide/NotificationHowTo.html), "
        "[KMS](https://aws.amazon.com/kms/pricing/), [nbval](https://nbval.readthedocs.io), "
        "[guide](INSTRUCTOR.md), [anchor](https://docs.aws.amazon.com/x.html#section-1), "
        "[boto3](https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html)\n"
    )
    assert link_problems(page) == []
