"""Markdown texts shared by the chat pane tests."""

REPLY = """# Streaming test

Here is a paragraph with **bold**, *italic*, `inline code` and a [link](https://example.com).
It continues on a second line.

## A list

- first item
- second item with `code`
  - nested item
- third item

1. one
2. two
3. three
   ```bash
   echo nested
   ```
4. four

| Name | Size | Notes |
|------|-----:|:-----:|
| alpha | 12 | fast |
| beta | 7 | `slow` |

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

> A quote that
> spans two lines.

---

Final words with *emphasis* and ~~strike~~.
"""


def long_code_reply(lines: int) -> str:
    body = "\n".join(f"value_{i} = compute({i}) + {i}" for i in range(lines))
    return f"Intro.\n\n```python\n{body}\n```\n\nAfter the code.\n"


def long_list_reply(items: int) -> str:
    return "Steps:\n\n" + "\n".join(f"{i + 1}. step number {i + 1}" for i in range(items)) + "\n\nDone.\n"
