#!/usr/bin/env python3
"""The compute-true stand-in for the pi profile's LLM (Qwen2.5-0.5B-Instruct, Q4_K_M): an F16 GGUF
with exactly its architecture, dimensions, tokenizer and chat template, but random weights.
scripts/standin.sh quantizes it to Q4_K_M with llama.cpp's llama-quantize; see bench/README.md.

    standin.py VOCAB_GGUF OUT_F16_GGUF

VOCAB_GGUF is llama.cpp's models/ggml-vocab-qwen2.gguf (the real Qwen2 BPE vocabulary: 151,936
entries, 151,387 merges), taken by standin.sh from the llama.cpp source that node-llama-cpp ships.
Its 22 added tokens are renamed as Qwen2.5's tokenizer names them. Deterministic: every tensor is
drawn from its own numpy PCG64 stream seeded by its name, so the same numpy gives the same bytes.

Uses Debian's python3-gguf (the `gguf` package) and numpy.
"""
import sys
import zlib

import numpy as np
import gguf

# Qwen2.5-0.5B-Instruct's config.json, as its official GGUF (models/manifest.json, profile "pi") carries it.
ARCH = "qwen2"
N_VOCAB = 151936
N_EMBD = 896
N_LAYER = 24
N_FF = 4864
N_HEAD = 14
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD  # 64
N_CTX_TRAIN = 32768
ROPE_BASE = 1000000.0
RMS_EPS = 1e-6
SEED = 20251129

# Qwen2.5's added tokens (tokenizer_config.json): id -> (text, special). Special ones are control tokens.
ADDED = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True),
    ("<|quad_start|>", True), ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True),
    ("<|vision_pad|>", True), ("<|image_pad|>", True), ("<|video_pad|>", True),
    ("<tool_call>", False), ("</tool_call>", False),
    ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False),
]
FIRST_ADDED = 151643

# Qwen2.5-Instruct's chat template (tools rendered in the system turn, calls in <tool_call> tags).
CHAT_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""


def field(reader, key):
    return reader.fields[key].contents()


def rand(name, shape, std):
    """A deterministic random tensor: its own stream per tensor name."""
    rng = np.random.Generator(np.random.PCG64(SEED ^ zlib.crc32(name.encode())))
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float16)


def main(vocab_path, out_path):
    vocab = gguf.GGUFReader(vocab_path)
    if field(vocab, "tokenizer.ggml.pre") != "qwen2":
        raise SystemExit(f"{vocab_path}: not a Qwen2 vocabulary")
    tokens = field(vocab, "tokenizer.ggml.tokens")
    types = [int(t) for t in field(vocab, "tokenizer.ggml.token_type")]
    merges = field(vocab, "tokenizer.ggml.merges")
    if len(tokens) != N_VOCAB:
        raise SystemExit(f"{vocab_path}: {len(tokens)} tokens, expected {N_VOCAB}")
    for i, (text, special) in enumerate(ADDED):
        tokens[FIRST_ADDED + i] = text
        types[FIRST_ADDED + i] = int(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)

    w = gguf.GGUFWriter(out_path, ARCH)
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("Qwen2.5 0.5B Instruct (random-weight stand-in)")
    w.add_basename("Qwen2.5")
    w.add_finetune("Instruct")
    w.add_size_label("0.5B")
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_freq_base(ROPE_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(151645)  # <|im_end|>
    w.add_pad_token_id(151643)
    w.add_bos_token_id(151643)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    # numpy shapes are (rows, columns) = (ne1, ne0). Tied embeddings: no output.weight, as in Qwen2.5-0.5B.
    ones = lambda n: np.ones(n, dtype=np.float32)
    w.add_tensor("token_embd.weight", rand("token_embd.weight", (N_VOCAB, N_EMBD), 0.02))
    kv = N_HEAD_KV * HEAD_DIM
    for b in range(N_LAYER):
        p = f"blk.{b}."
        std_in, std_ff = N_EMBD ** -0.5, N_FF ** -0.5
        w.add_tensor(p + "attn_norm.weight", ones(N_EMBD))
        w.add_tensor(p + "attn_q.weight", rand(p + "attn_q.weight", (N_EMBD, N_EMBD), std_in))
        w.add_tensor(p + "attn_q.bias", rand(p + "attn_q.bias", (N_EMBD,), 0.02).astype(np.float32))
        w.add_tensor(p + "attn_k.weight", rand(p + "attn_k.weight", (kv, N_EMBD), std_in))
        w.add_tensor(p + "attn_k.bias", rand(p + "attn_k.bias", (kv,), 0.02).astype(np.float32))
        w.add_tensor(p + "attn_v.weight", rand(p + "attn_v.weight", (kv, N_EMBD), std_in))
        w.add_tensor(p + "attn_v.bias", rand(p + "attn_v.bias", (kv,), 0.02).astype(np.float32))
        w.add_tensor(p + "attn_output.weight", rand(p + "attn_output.weight", (N_EMBD, N_EMBD), std_in))
        w.add_tensor(p + "ffn_norm.weight", ones(N_EMBD))
        w.add_tensor(p + "ffn_gate.weight", rand(p + "ffn_gate.weight", (N_FF, N_EMBD), std_in))
        w.add_tensor(p + "ffn_up.weight", rand(p + "ffn_up.weight", (N_FF, N_EMBD), std_in))
        w.add_tensor(p + "ffn_down.weight", rand(p + "ffn_down.weight", (N_EMBD, N_FF), std_ff))
    w.add_tensor("output_norm.weight", ones(N_EMBD))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
