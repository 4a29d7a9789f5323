"""The chat-template renderer: byte-identical to transformers on real templates, and safe on hostile ones.

The reference side is transformers' own `apply_chat_template(..., tokenize=False)` on a real
tokenizer object built offline, with each family's real special tokens. No model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engines import templates
from engines.gguf_header import read_gguf_header
from engines.template_choice import builtin_template
from engines.templates import (
    PREVIEW_MESSAGES,
    UNSAFE_MESSAGE,
    TemplateError,
    check_template,
    preview_template,
    render_chat,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "templates"


@dataclass(frozen=True)
class Family:
    bos: str  # "" where the model has no BOS token (transformers then leaves it undefined)
    eos: str
    system: bool = True  # accepts a system message
    tools: bool = False  # the template renders a tool list
    tool_calls: bool = False  # the template renders assistant tool calls and tool results


FAMILIES = {
    "smollm2-135m-instruct": Family("<|im_start|>", "<|im_end|>"),
    "llama-3.2-3b-instruct": Family("<|begin_of_text|>", "<|eot_id|>", tools=True, tool_calls=True),
    "mistral-7b-instruct-v0.3": Family("<s>", "</s>", tools=True, tool_calls=True),
    "mistral-nemo-instruct-2407": Family("<s>", "</s>", tools=True, tool_calls=True),
    "gemma-2-2b-it": Family("<bos>", "<eos>", system=False),
    "phi-3.5-mini-instruct": Family("<s>", "<|endoftext|>"),
    "qwen2.5-7b-instruct": Family("", "<|im_end|>", tools=True, tool_calls=True),
    "qwen3-0.6b": Family("", "<|im_end|>", tools=True, tool_calls=True),
    "deepseek-r1-distill-qwen-32b": Family("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "granite-3.3-2b-instruct": Family("<|end_of_text|>", "<|end_of_text|>", tools=True),
}

SYSTEM = {"role": "system", "content": "You are a terse assistant. Answer in one line."}
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "one-user-turn": [{"role": "user", "content": "Hello, who are you?"}],
    "system": [SYSTEM, {"role": "user", "content": "Name a colour."}],
    "several-turns": [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "  And 3 + 3?  "},
    ],
    "system-several-turns": [dict(m) for m in PREVIEW_MESSAGES],
    "non-ascii": [{"role": "user", "content": "Quelle météo à Zürich ? 東京は晴れ？ 🌦️ «ça va» — naïve café"}],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Météo actuelle d'une ville — 天気",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "Nom de la ville, ex. Zürich"}},
                "required": ["city"],
            },
        },
    }
]
TOOL_ROUND_TRIP = [
    {"role": "user", "content": "Wie ist das Wetter in Zürich?"},
    {
        "role": "assistant",
        "content": None,  # dropped before rendering, as transformers does
        "tool_calls": [
            {
                "id": "call00001",
                "type": "function",
                "function": {"name": "get_weather", "arguments": {"city": "Zürich"}},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call00001", "content": '{"temperature": "21 °C"}'},
]


def fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.jinja").read_text(encoding="utf-8")


@cache
def hf_tokenizer(bos: str, eos: str) -> Any:
    """A real transformers tokenizer, built offline, that carries these special tokens."""
    import tokenizers
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizers.Tokenizer(tokenizers.models.BPE()), bos_token=bos or None, eos_token=eos
    )


def reference(template: str, family: Family, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    return hf_tokenizer(family.bos, family.eos).apply_chat_template(
        messages, chat_template=template, tokenize=False, **kwargs
    )


def ours(template: str, family: Family, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    return render_chat(template, messages, bos_token=family.bos, eos_token=family.eos, **kwargs)


def matrix() -> list[Any]:
    cases = []
    for name, family in FAMILIES.items():
        for conversation in CONVERSATIONS:
            if conversation.startswith("system") and not family.system:
                continue
            for generation_prompt in (True, False):
                cases.append(
                    pytest.param(name, conversation, generation_prompt, id=f"{name}-{conversation}-{generation_prompt}")
                )
    return cases


# ---------------------------------------------------------------------------------------------- the corpus


def test_every_fixture_has_a_source_entry() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(path.stem for path in FIXTURES.glob("*.jinja"))
    assert files == sorted(FAMILIES)
    for name in files:
        assert f"`{name}.jinja`" in sources


def test_smollm2_fixture_is_the_starter_models_template(starter_gguf: Path) -> None:
    assert read_gguf_header(starter_gguf).metadata["tokenizer.chat_template"] == fixture_text("smollm2-135m-instruct")


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_fixtures_pass_check_template(name: str) -> None:
    check_template(fixture_text(name))


# ------------------------------------------------------------------------------ identical to transformers


@pytest.mark.parametrize(("name", "conversation", "generation_prompt"), matrix())
def test_renders_like_transformers(name: str, conversation: str, generation_prompt: bool) -> None:
    template, family, messages = fixture_text(name), FAMILIES[name], CONVERSATIONS[conversation]
    expected = reference(template, family, messages, add_generation_prompt=generation_prompt)
    assert ours(template, family, messages, add_generation_prompt=generation_prompt) == expected


@pytest.mark.parametrize("name", [name for name, family in FAMILIES.items() if family.tools])
def test_tools_and_non_ascii_render_like_transformers(name: str) -> None:
    template, family, messages = fixture_text(name), FAMILIES[name], CONVERSATIONS["non-ascii"]
    expected = reference(template, family, messages, tools=TOOLS, add_generation_prompt=True)
    assert "Zürich" in expected and "天気" in expected  # tojson keeps non-ASCII as is
    assert ours(template, family, messages, tools=TOOLS) == expected


@pytest.mark.parametrize("name", [name for name, family in FAMILIES.items() if family.tool_calls])
def test_tool_calls_and_results_render_like_transformers(name: str) -> None:
    template, family = fixture_text(name), FAMILIES[name]
    messages = [dict(m) for m in TOOL_ROUND_TRIP]
    if name == "qwen3-0.6b":  # Qwen3's template reads the content of a tool-calling message, so it needs one
        messages[1]["content"] = ""
    expected = reference(template, family, messages, tools=TOOLS, add_generation_prompt=True)
    assert "get_weather" in expected and "21 °C" in expected
    assert ours(template, family, messages, tools=TOOLS) == expected


@pytest.mark.parametrize("enable_thinking", [True, False, None])
@pytest.mark.parametrize("conversation", ["one-user-turn", "system-several-turns"])
def test_qwen3_thinking_switch_renders_like_transformers(enable_thinking: bool | None, conversation: str) -> None:
    template, family, messages = fixture_text("qwen3-0.6b"), FAMILIES["qwen3-0.6b"], CONVERSATIONS[conversation]
    extra = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
    expected = reference(template, family, messages, add_generation_prompt=True, **extra)
    assert expected.endswith("<think>\n\n</think>\n\n") == (enable_thinking is False)
    assert ours(template, family, messages, **extra) == expected


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "thinking"])
def test_qwen3_reasoning_aliases_render_like_transformers(field: str) -> None:
    # transformers copies `reasoning` and `thinking` to `reasoning_content`, the field Qwen3 reads.
    template, family = fixture_text("qwen3-0.6b"), FAMILIES["qwen3-0.6b"]
    messages = [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "4", field: "Add them."}]
    expected = reference(template, family, messages, add_generation_prompt=False)
    assert "<think>\nAdd them.\n</think>" in expected
    assert ours(template, family, messages, add_generation_prompt=False) == expected


def test_granite_documents_and_controls_render_like_transformers() -> None:
    template, family = fixture_text("granite-3.3-2b-instruct"), FAMILIES["granite-3.3-2b-instruct"]
    documents = [{"doc_id": 1, "text": "Zürich liegt am Zürichsee."}]
    kwargs = {"documents": documents, "controls": {"citations": True}, "add_generation_prompt": True}
    expected = reference(template, family, CONVERSATIONS["non-ascii"], **kwargs)
    assert "Zürichsee" in expected and '{"citations": true}' in expected
    assert ours(template, family, CONVERSATIONS["non-ascii"], **kwargs) == expected


def test_llama_date_string_variable_renders_like_transformers() -> None:
    template, family = fixture_text("llama-3.2-3b-instruct"), FAMILIES["llama-3.2-3b-instruct"]
    expected = reference(
        template, family, CONVERSATIONS["system"], date_string="01 Jan 2025", add_generation_prompt=True
    )
    assert "Today Date: 01 Jan 2025" in expected
    assert ours(template, family, CONVERSATIONS["system"], date_string="01 Jan 2025") == expected


def test_chatml_fallback_renders_like_transformers() -> None:
    family = Family("", "")
    messages = CONVERSATIONS["system-several-turns"]
    chatml = builtin_template("chatml")
    expected = reference(chatml, family, messages, add_generation_prompt=True)
    assert render_chat(chatml, messages) == expected


# A template written for this test (not a model's): the helpers, filters and string methods templates use.
FEATURES_TEMPLATE = """\
{%- set ns = namespace(count=0, names=[]) -%}
{%- for message in messages -%}
{%- set ns.count = ns.count + 1 -%}
{{ loop.index }}/{{ loop.length }} {{ loop.cycle('odd', 'even') }} {{ message.role | upper }}:
{%- if message.content.startswith('  ') %} (indented){% endif %}
{{ message.content.strip().split(' ') | join('|') }} {{ '%s has %d chars' % (message.role, message.content|length) }}
{{ '{0}-{1}'.format(message.role, loop.index0) }} {{ message.content[:3] ~ '…' }} {{ message.get('missing', 'n/a') }}
{% generation %}{{ message.content | trim | replace('2', 'two') | title }}{% endgeneration %}
{% endfor -%}
{%- for key, value in dict(b=2, a=1).items() | sort %}{{ key }}={{ value }};{% endfor %}
{{ tools | tojson }}
{{ tools | tojson(indent=2, sort_keys=True) }}
{{ tools | tojson(separators=(',', ':')) }}
{{ tools[0].function.parameters.properties.keys() | list }} {{ messages | map(attribute='role') | unique | list }}
{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ ns.count * 2 }} {{ (7 // 2) ** 2 }}
{%- autoescape true %}{{ '<b>' ~ messages[0].role ~ '</b>' }}{% endautoescape %}
{{ bos_token is defined }} {{ eos_token }} {{ custom_flag }} {{ range(3) | list }} {{ 'x' * 3 }}
{{ lipsum(1, false, 2, 3) | length > 0 }} [{{ not_defined }}] {{ none }} {{ messages[:1] }} {{ tools[0].function.name }}
{% if add_generation_prompt %}ASSISTANT:{% endif %}"""


def test_helpers_filters_and_string_methods_render_like_transformers() -> None:
    family = Family("", "</s>")
    messages = CONVERSATIONS["several-turns"]
    expected = reference(FEATURES_TEMPLATE, family, messages, tools=TOOLS, custom_flag="on", add_generation_prompt=True)
    assert "1/3 odd USER:" in expected and "False </s> on" in expected
    assert ours(FEATURES_TEMPLATE, family, messages, tools=TOOLS, custom_flag="on") == expected


def test_messages_are_not_modified() -> None:
    messages = [dict(m) for m in TOOL_ROUND_TRIP]
    before = repr(messages)
    ours(fixture_text("mistral-7b-instruct-v0.3"), FAMILIES["mistral-7b-instruct-v0.3"], messages, tools=TOOLS)
    assert messages[1]["content"] is None  # dropped from the template's copy only
    assert repr(messages) == before


# ------------------------------------------------------------------------------- templates that refuse


@pytest.mark.parametrize(
    ("name", "messages", "words"),
    [
        ("gemma-2-2b-it", CONVERSATIONS["system"], "System role not supported"),
        (
            "gemma-2-2b-it",
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "Conversation roles must alternate user/assistant/user/assistant/...",
        ),
        (
            "mistral-nemo-instruct-2407",
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...",
        ),
        (
            "mistral-7b-instruct-v0.3",
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "conversation roles must alternate user and assistant roles except for tool calls and results.",
        ),
    ],
)
def test_template_refusals_become_one_plain_sentence(name: str, messages: list[dict[str, Any]], words: str) -> None:
    import jinja2

    template, family = fixture_text(name), FAMILIES[name]
    with pytest.raises(jinja2.exceptions.TemplateError, match="alternate|System role"):
        reference(template, family, messages, add_generation_prompt=True)
    with pytest.raises(TemplateError) as caught:
        ours(template, family, messages)
    message = str(caught.value)
    assert message.startswith("This model's chat template refused the conversation: ")
    assert words in message
    assert "\n" not in message and message.endswith((".", "..."))


# ------------------------------------------------------------------------------------ editor helpers


def test_check_template_names_the_line_of_a_syntax_error() -> None:
    with pytest.raises(TemplateError) as caught:
        check_template("{{ bos_token }}\n{% for message in messages %}\n{{ message.content }\n{% endfor %}")
    assert str(caught.value).startswith("The chat template has a syntax error on line 3: ")
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_check_template_rejects_unknown_filters_and_huge_templates() -> None:
    with pytest.raises(TemplateError, match="on line 1: No filter named 'no_such_filter'"):
        check_template("{{ messages | no_such_filter }}")
    with pytest.raises(TemplateError, match="larger than 256 KB"):
        check_template("x" * (templates.MAX_TEMPLATE_CHARS + 1))


def test_preview_renders_the_fixed_conversation() -> None:
    expected = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello! What can you do?<|im_end|>\n"
        "<|im_start|>assistant\nI can answer questions, explain ideas and help you write.<|im_end|>\n"
        "<|im_start|>user\nWrite a haiku about tea.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert preview_template(builtin_template("chatml")) == expected


def test_preview_matches_transformers_and_reports_refusals() -> None:
    template, family = fixture_text("llama-3.2-3b-instruct"), FAMILIES["llama-3.2-3b-instruct"]
    expected = reference(template, family, [dict(m) for m in PREVIEW_MESSAGES], add_generation_prompt=True)
    assert preview_template(template, bos_token=family.bos, eos_token=family.eos) == expected
    with pytest.raises(TemplateError, match="System role not supported"):
        preview_template(fixture_text("gemma-2-2b-it"), bos_token="<bos>")


# ----------------------------------------------------------------------------------- hostile templates

SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch PWNED') }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__['os'].popen('touch PWNED').read() }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ raise_exception.__globals__['__builtins__']['open']('PWNED', 'w') }}",
    "{{ strftime_now.__globals__ }}",
    "{{ messages.__class__.__base__.__subclasses__() }}",
    "{{ [].pop.__self__ }}",
    "{{ dict.fromkeys.__self__ }}",
    "{{ ''.format.__globals__ }}",
    "{{ '{0.__class__}'.format(messages) }}",
    "{{ '{0.__init__.__globals__[os]}'.format(cycler) }}",
    "{{ '{x.__class__.__mro__}'.format_map({'x': ''}) }}",
    "{{ ''['__class__'] }}",
    "{{ messages | attr('__class__') }}",
    "{{ messages | map(attribute='__class__') | list }}",
    "{{ messages | selectattr('__class__') | list }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{% if ''.__class__ %}a quiet undefined in plain jinja{% endif %}",
    "{% set ns = namespace(__class__=1) %}",
    "{% set ns = namespace() %}{% set ns._secret = 1 %}",
    "{% for m in messages %}{{ loop.__class__ }}{% endfor %}",
    "{{ messages.pop(0) }}",
    "{{ messages[0].update({'role': 'system'}) }}",
    "{{ strftime_now('%999999999Y') }}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payloads_are_refused_and_run_nothing(payload: str, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    with pytest.raises(TemplateError) as caught:
        render_chat(payload.replace("PWNED", str(pwned)), [{"role": "user", "content": "hi"}])
    assert str(caught.value) == UNSAFE_MESSAGE
    assert not pwned.exists()


def test_a_long_real_conversation_is_not_mistaken_for_a_bomb() -> None:
    # 1.5 MB of conversation is past the fixed 1 MB allowance; the allowance grows with the input.
    template, family = fixture_text("qwen3-0.6b"), FAMILIES["qwen3-0.6b"]
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "lorem ipsum dolor " * 800}
        for i in range(101)
    ]
    expected = reference(template, family, messages, add_generation_prompt=True)
    assert len(expected) > 1_400_000
    assert ours(template, family, messages) == expected
