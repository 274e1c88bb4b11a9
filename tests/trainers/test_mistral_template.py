"""The shipped Mistral-7B-Instruct-v0.2 marker template renders exactly as the model's own template (which has no
{% generation %} markers and which TRL cannot patch), and its markers cover exactly the assistant turns."""

from __future__ import annotations

import pytest

from reflectevo_bench.trainers.config import SHIPPED_TEMPLATES

# mistralai/Mistral-7B-Instruct-v0.2 tokenizer_config.json "chat_template", verbatim (as copied, with its source,
# by guidance-ai/guidance: "[05/08/24] https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2/blob/main/
# tokenizer_config.json#L42")
MISTRAL_V02_TEMPLATE = "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n"  # noqa: E501

CONVERSATION = [
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "Answer: 6"},
    {"role": "user", "content": "Your answer is incorrect. Reflect.\n\nThen answer again."},
    {"role": "assistant", "content": "I added wrongly.\nNew answer: 5"},
]


def _render(template: str, messages, add_generation_prompt=False):
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, generation = render_jinja_template(
        conversations=[messages],
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        bos_token="<s>",
        eos_token="</s>",
        return_assistant_tokens_mask=True,
    )
    return rendered[0], generation[0]


@pytest.mark.parametrize("with_system", [False, True])
@pytest.mark.parametrize("gen_prompt", [False, True])
def test_renders_like_mistral_v02(with_system, gen_prompt):
    shipped = SHIPPED_TEMPLATES["mistral-v0.2-generation"].read_text()
    msgs = ([{"role": "system", "content": "Be brief."}] if with_system else []) + CONVERSATION
    for n in range(1, len(msgs) + 1):
        if with_system and n == 1:
            continue
        assert _render(shipped, msgs[:n], gen_prompt)[0] == _render(MISTRAL_V02_TEMPLATE, msgs[:n], gen_prompt)[0]
    assert "{%- generation %}" in shipped and "generation" not in MISTRAL_V02_TEMPLATE


def test_markers_cover_exactly_the_assistant_turns():
    text, spans = _render(SHIPPED_TEMPLATES["mistral-v0.2-generation"].read_text(), CONVERSATION)
    assert [text[a:b] for a, b in spans] == ["Answer: 6</s>", "I added wrongly.\nNew answer: 5</s>"]
    _, none = _render(MISTRAL_V02_TEMPLATE, CONVERSATION)
    assert none == []  # the model's own template marks nothing: TRL's assistant_only_loss could not train on it


def test_alternation_is_still_enforced():
    from jinja2.exceptions import TemplateError

    with pytest.raises(TemplateError, match="alternate"):
        _render(SHIPPED_TEMPLATES["mistral-v0.2-generation"].read_text(), CONVERSATION[:1] * 2)
