#!/usr/bin/env python3
"""Generate differential test data from the real LiteLLM 1.110.2.

Writes JSONL files (one JSON object per line) that the Rust crates check themselves
against offline:

  cost_per_token.jsonl    litellm.cost_per_token(...) for every chat key and many usages
  completion_cost.jsonl   litellm.completion_cost(ModelResponse(**obj), ...)
  model_info.jsonl        litellm.get_model_info(...) + the supports_* helpers
  get_llm_provider.jsonl  litellm.get_llm_provider(...)
  supported_params.jsonl  litellm.get_supported_openai_params(...)
  SUMMARY.md              counts, error counts, surprises

Usage (from a venv with litellm==1.110.2, never 1.107.0):

  python3 scripts/litellm-diff/generate.py --out crates/llm-cost/test_data/litellm

The script re-executes itself in a clean environment (no provider API keys or
*_API_BASE variables, a throw-away HOME, LITELLM_LOCAL_MODEL_COST_MAP=True,
PYTHONHASHSEED=0) and, when `unshare -n` works (root), in a network namespace with
no network at all. Output is deterministic: fixed seeds, fixed billing time, sorted
model order, no timestamps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timezone

EXPECTED_LITELLM_VERSION = "1.110.2"
EXPECTED_PRICE_SHA256 = "8943af58bf9f979c6a4bef815687117ffa341e462a41faed9be17b5c33d3dcc2"

# Every cost is computed with LiteLLM's billing clock pinned here unless a line says
# otherwise ("billing_time"). A Wednesday, 08:00 UTC: outside every off-peak window of
# the price file (those are weekday 00-01, 04-06, 10-24 UTC and all weekend).
DEFAULT_BILLING_TIME = "2025-06-04T08:00:00Z"

MAX_FILE_BYTES = 6_000_000

# Providers whose get_llm_provider() runs an OAuth device flow (network + a human).
OAUTH_PROVIDERS = ("github_copilot", "chatgpt")


# --------------------------------------------------------------------------------------
# re-exec in a clean, offline environment
# --------------------------------------------------------------------------------------
def _reexec_clean() -> None:
    if os.environ.get("LITELLM_DIFF_CHILD") == "1":
        return
    home = tempfile.mkdtemp(prefix="litellm-diff-home-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_DIFF_CHILD": "1",
        "PYTHONHASHSEED": "0",
        "TZ": "UTC",
    }
    cmd = [sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    offline = "no"
    if shutil.which("unshare") and os.environ.get("LITELLM_DIFF_NO_UNSHARE") != "1":
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode == 0:
            cmd = ["unshare", "-n", *cmd]
            offline = "netns"
    if offline == "no":
        if os.environ.get("LITELLM_DIFF_NO_UNSHARE") != "1":
            sys.exit("cannot isolate the network with `unshare -n` (needs root). LiteLLM's github_copilot/chatgpt "
                     "resolution runs an OAuth device flow that can block for minutes when it has network. "
                     "Set LITELLM_DIFF_NO_UNSHARE=1 to run anyway (the OAuth endpoints are pointed at a closed port).")
        env["GITHUB_COPILOT_DEVICE_CODE_URL"] = "http://127.0.0.1:9/"
        env["GITHUB_COPILOT_ACCESS_TOKEN_URL"] = "http://127.0.0.1:9/"
    env["LITELLM_DIFF_OFFLINE"] = offline
    try:
        rc = subprocess.call(cmd, env=env, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sys.exit(rc)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def parse_time(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class Stats:
    def __init__(self) -> None:
        self.nonfinite: list[str] = []
        self.notes: dict[str, list[str]] = defaultdict(list)
        self.counters: Counter = Counter()

    def note(self, topic: str, text: str, limit: int = 40) -> None:
        lst = self.notes[topic]
        if len(lst) < limit:
            lst.append(text)
        self.counters["note:" + topic] += 1


STATS = Stats()


def money(x, where: str):
    """A float as a JSON number (Python repr); non-finite values become strings."""
    if x is None:
        return None
    x = float(x)
    if math.isfinite(x):
        return x
    STATS.nonfinite.append(where)
    return repr(x)


def err_obj(e: BaseException) -> dict:
    msg = str(e)
    return {"error": type(e).__name__, "message": msg[:200]}


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def write_jsonl(path: str, rows: list[dict]) -> tuple[int, int]:
    data = "".join(dumps(r) + "\n" for r in rows)
    b = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(b)
    return len(rows), len(b)


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def main() -> None:
    _reexec_clean()

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--only", default="", help="comma list of sections to run (debug)")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))

    import importlib.metadata as md

    version = md.version("litellm")
    if version != EXPECTED_LITELLM_VERSION:
        sys.exit(f"litellm {version} installed, need {EXPECTED_LITELLM_VERSION}")
    if version == "1.107.0":  # compromised release; never run it
        sys.exit("refusing to run litellm 1.107.0")

    import litellm  # noqa: E402  (slow import, after the env is clean)

    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    import logging

    logging.disable(logging.CRITICAL)

    price_path = os.path.join(os.path.dirname(litellm.__file__), "model_prices_and_context_window_backup.json")
    with open(price_path, "rb") as f:
        raw_bytes = f.read()
    sha = hashlib.sha256(raw_bytes).hexdigest()
    price_source = "bundled backup file of the wheel"
    if sha != EXPECTED_PRICE_SHA256:
        shared = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "model_prices_litellm-1.110.2.json")
        shared = os.path.normpath(shared)
        with open(shared, "rb") as f:
            raw_bytes = f.read()
        if hashlib.sha256(raw_bytes).hexdigest() != EXPECTED_PRICE_SHA256:
            sys.exit("no price file with the expected sha256")
        litellm.model_cost = json.loads(raw_bytes)
        price_source = f"shared file {shared} (wheel file sha256 {sha} differed)"
        print("WARNING: " + price_source, file=sys.stderr)
    raw = json.loads(raw_bytes)

    ctx = Ctx(litellm, raw, price_source)
    sections = [
        ("cost_per_token", gen_cost_per_token),
        ("completion_cost", gen_completion_cost),
        ("model_info", gen_model_info),
        ("get_llm_provider", gen_get_llm_provider),
        ("supported_params", gen_supported_params),
    ]
    results = {}
    for name, fn in sections:
        if only and name not in only:
            continue
        print(f"[{name}] generating ...", file=sys.stderr, flush=True)
        rows = fn(ctx)
        path = os.path.join(out, f"{name}.jsonl")
        n, size = write_jsonl(path, rows)
        errors = sum(1 for r in rows if _is_error_row(r))
        classes = Counter(_error_class(r) for r in rows if _is_error_row(r))
        results[name] = (n, size, errors, classes)
        print(f"[{name}] {n} lines, {size} bytes, {errors} error cases", file=sys.stderr, flush=True)
        if size > MAX_FILE_BYTES:
            print(f"WARNING: {path} is {size} bytes (> {MAX_FILE_BYTES})", file=sys.stderr)
    if not only:
        write_summary(ctx, out, results)


def _error_class(r: dict) -> str:
    e = r.get("expected")
    if isinstance(e, dict) and "error" in e:
        return e["error"]
    return r["info"]["error"]


def _is_error_row(r: dict) -> bool:
    e = r.get("expected")
    if isinstance(e, dict) and "error" in e:
        return True
    if "info" in r and isinstance(r["info"], dict) and "error" in r["info"]:
        return True
    return False


class Ctx:
    def __init__(self, litellm, raw: dict, price_source: str) -> None:
        self.litellm = litellm
        self.raw = raw
        self.price_source = price_source
        from litellm._internal_context import pinned_billing_time
        from litellm.types.utils import ModelResponse, Usage

        self.pinned_billing_time = pinned_billing_time
        self.Usage = Usage
        self.ModelResponse = ModelResponse
        self.default_time = parse_time(DEFAULT_BILLING_TIME)
        # rows of the file (alias rows resolved to their target row)
        self.rows: dict[str, dict] = {}
        self.alias_of: dict[str, str] = {}
        for k, v in raw.items():
            if k in ("sample_spec", "fallback_generalizations") or not isinstance(v, dict):
                continue
            if "alias_of" in v:
                self.alias_of[k] = v["alias_of"]
            else:
                self.rows[k] = v
        for k, t in self.alias_of.items():
            if t in self.rows:
                self.rows[k] = self.rows[t]
        self.off_peak_keys = {k for k, v in self.rows.items() if "off_peak_pricing" in v}
        self.trace: list = []
        self._install_key_trace()

    def _install_key_trace(self) -> None:
        """Record which catalog row generic_cost_per_token() prices with (its ModelInfo "key").

        Every provider calculator that bills by the generic formula calls generic_cost_per_token,
        either with a resolved model_info or with (model, provider) that it resolves through
        get_model_info. The wrapper only observes; it returns the original result untouched.
        """
        import inspect

        import litellm.litellm_core_utils.llm_cost_calc.utils as U

        orig = U.generic_cost_per_token
        sig = inspect.signature(orig)
        trace = self.trace

        def traced(*a, **k):
            try:
                b = sig.bind(*a, **k)
                mi = b.arguments.get("model_info")
                if mi is None:
                    mi = U.get_model_info(model=b.arguments["model"], custom_llm_provider=b.arguments.get("custom_llm_provider"))
                key = mi.get("key") if hasattr(mi, "get") else None
                trace.append(key)
            except Exception:  # noqa: BLE001
                trace.append(None)
            return orig(*a, **k)

        n = 0
        for name, mod in list(sys.modules.items()):
            if name.startswith("litellm") and getattr(mod, "generic_cost_per_token", None) is orig:
                setattr(mod, "generic_cost_per_token", traced)
                n += 1
        STATS.counters["trace_patched_modules"] = n

    def priced_key(self):
        keys = [k for k in self.trace if k]
        return keys[-1] if keys else None

    # ---- calls ---------------------------------------------------------------------
    def usage_object(self, u: dict):
        P = u["prompt_tokens"]
        C = u["completion_tokens"]
        ptd = {}
        if "cached_tokens" in u:
            ptd["cached_tokens"] = u["cached_tokens"]
        if "cache_creation_tokens" in u:
            ptd["cache_write_tokens"] = u["cache_creation_tokens"]
        ctd = {}
        if "reasoning_tokens" in u:
            ctd["reasoning_tokens"] = u["reasoning_tokens"]
        return self.Usage(
            prompt_tokens=P,
            completion_tokens=C,
            total_tokens=P + C,
            prompt_tokens_details=ptd or None,
            completion_tokens_details=ctd or None,
        )

    def cost_per_token(self, model, u, provider=None, service_tier=None, billing_time=None):
        lt = self.litellm
        bt = parse_time(billing_time) if billing_time else self.default_time
        with self.pinned_billing_time(bt):
            return lt.cost_per_token(
                model=model,
                prompt_tokens=u["prompt_tokens"],
                completion_tokens=u["completion_tokens"],
                usage_object=self.usage_object(u),
                custom_llm_provider=provider,
                service_tier=service_tier,
            )

    def cost_per_token_kwargs(self, model, u, provider=None, service_tier=None, billing_time=None):
        """The same call with the legacy kwargs (no usage_object); reasoning can't be passed."""
        lt = self.litellm
        bt = parse_time(billing_time) if billing_time else self.default_time
        with self.pinned_billing_time(bt):
            return lt.cost_per_token(
                model=model,
                prompt_tokens=u["prompt_tokens"],
                completion_tokens=u["completion_tokens"],
                cache_read_input_tokens=u.get("cached_tokens", 0),
                cache_creation_input_tokens=u.get("cache_creation_tokens", 0),
                custom_llm_provider=provider,
                service_tier=service_tier,
            )

    def catalog_key(self, model, provider=None):
        try:
            info = self.litellm.get_model_info(model=model, custom_llm_provider=provider)
            return info.get("key")
        except Exception as e:  # noqa: BLE001
            return {"error": type(e).__name__}


# --------------------------------------------------------------------------------------
# 1. cost_per_token
# --------------------------------------------------------------------------------------
THRESH_RE = re.compile(r"_above_(\d+)(k?)_tokens")

BASE_USAGES = [
    ("plain", {"prompt_tokens": 1000, "completion_tokens": 500}),
    ("cache_read", {"prompt_tokens": 2000, "completion_tokens": 300, "cached_tokens": 1200}),
    ("cache_write", {"prompt_tokens": 3000, "completion_tokens": 200, "cached_tokens": 500, "cache_creation_tokens": 1000}),
    ("reasoning", {"prompt_tokens": 500, "completion_tokens": 2000, "reasoning_tokens": 1500}),
]
BIG_USAGE = ("big_prompt", {"prompt_tokens": 300000, "completion_tokens": 500})


def thresholds_of(row: dict) -> list[int]:
    out = set()
    for f in row:
        m = THRESH_RE.search(f)
        if m:
            n = int(m.group(1)) * (1000 if m.group(2) else 1)
            out.add(n)
    return sorted(out)


def tier_boundaries(row: dict) -> list[int]:
    tp = row.get("tiered_pricing")
    out = set()
    if isinstance(tp, list):
        for i, t in enumerate(tp):
            rng = t.get("range") if isinstance(t, dict) else None
            if not (isinstance(rng, list) and len(rng) == 2):
                continue
            lo, hi = int(rng[0]), int(rng[1])
            if lo > 0:
                out.update({lo, lo + 1})
            if i == len(tp) - 1:
                out.update({hi, hi + 1})
    return sorted(out)


def service_tiers_of(row: dict) -> list[str]:
    tiers = []
    for t in ("flex", "priority", "balanced", "ultrafast"):
        if any(f.endswith("_" + t) or ("_" + t + "_") in f for f in row if "cost" in f):
            tiers.append(t)
    return tiers


def cpt_row(ctx: Ctx, case: str, model: str, u: dict, provider=None, service_tier=None,
            billing_time=None, want_key=False) -> dict:
    inp = {"model": model}
    if provider is not None:
        inp["provider"] = provider
    inp["usage"] = dict(u)
    if service_tier is not None:
        inp["service_tier"] = service_tier
    if billing_time is not None:
        inp["billing_time"] = billing_time
    ctx.trace.clear()
    try:
        p, c = ctx.cost_per_token(model, u, provider=provider, service_tier=service_tier, billing_time=billing_time)
        exp = {"prompt_cost": money(p, f"cpt:{model}:{case}"), "completion_cost": money(c, f"cpt:{model}:{case}")}
        ok = True
    except Exception as e:  # noqa: BLE001
        exp = err_obj(e)
        ok = False
    traced = ctx.priced_key() if ok else None
    if want_key:
        if traced is not None:
            exp["catalog_key"] = traced
            STATS.counters["cpt_catalog_key_from_trace"] += 1
        else:
            exp["catalog_key"] = ctx.catalog_key(model, provider)
            STATS.counters["cpt_catalog_key_from_get_model_info"] += 1
    elif traced is not None and traced != model:
        exp["catalog_key"] = traced
        STATS.counters["cpt_exact_key_priced_under_other_key"] += 1
        if case == "plain":
            STATS.note("cpt_exact_key_priced_under_other_key", f"{model} (provider={provider}) -> {traced}", limit=60)
    return {"case": case, "input": inp, "expected": exp}


def gen_cost_per_token(ctx: Ctx) -> list[dict]:
    rows: list[dict] = []
    chat_keys = sorted(k for k, v in ctx.rows.items() if v.get("mode") == "chat")
    file_chat = [k for k in chat_keys if k not in ctx.alias_of]
    STATS.counters["cpt_chat_keys_file"] = len(file_chat)
    STATS.counters["cpt_chat_alias_keys"] = len(chat_keys) - len(file_chat)
    no_provider_errors: list[str] = []
    kw_disagree = 0

    for key in chat_keys:
        row = ctx.rows[key]
        prov = None
        prefix = key.split("/", 1)[0] if "/" in key else None
        lp = row.get("litellm_provider")
        if prefix in OAUTH_PROVIDERS or (prefix is None and lp in OAUTH_PROVIDERS):
            # get_llm_provider would run the OAuth device flow; state the provider instead
            prov = lp
            STATS.note("oauth_provider_passed_explicitly", key, limit=200)
        bt = DEFAULT_BILLING_TIME if key in ctx.off_peak_keys else None

        cases: list[tuple[str, dict]] = list(BASE_USAGES)
        for n in thresholds_of(row):
            cases.append((f"above_{n}_at", {"prompt_tokens": n, "completion_tokens": 500}))
            cases.append((f"above_{n}_over", {"prompt_tokens": n + 1, "completion_tokens": 500}))
            cases.append((f"above_{n}_over_cached", {"prompt_tokens": n + 1, "completion_tokens": 500,
                                                     "cached_tokens": 10000, "cache_creation_tokens": 2000}))
        for n in tier_boundaries(row):
            cases.append((f"tier_{n}", {"prompt_tokens": n, "completion_tokens": 500, "cached_tokens": 100}))
        cases.append(BIG_USAGE)

        for case, u in cases:
            r = cpt_row(ctx, case, key, u, provider=prov, billing_time=bt)
            rows.append(r)
            if case == "plain" and "error" in r["expected"] and prov is None:
                no_provider_errors.append(key)
            # cross-check: kwargs path vs usage_object path
            if case in ("cache_read", "cache_write") and "error" not in r["expected"]:
                try:
                    p2, c2 = ctx.cost_per_token_kwargs(key, u, provider=prov, billing_time=bt)
                    if (p2, c2) != (r["expected"]["prompt_cost"], r["expected"]["completion_cost"]):
                        kw_disagree += 1
                        STATS.note("kwargs_vs_usage_object",
                                   f"{key} {case}: usage_object={r['expected']['prompt_cost']!r},{r['expected']['completion_cost']!r} kwargs={p2!r},{c2!r}")
                except Exception as e:  # noqa: BLE001
                    STATS.note("kwargs_vs_usage_object", f"{key} {case}: kwargs path raised {type(e).__name__}")

        # service tiers
        tiers = service_tiers_of(row)
        if "priority" in tiers:
            tiers.append("fast")  # LiteLLM maps fast -> priority keys
        for tier in tiers:
            tcases = [BASE_USAGES[0], BASE_USAGES[2], BASE_USAGES[3]]
            for n in thresholds_of(row):
                tcases.append((f"above_{n}_over", {"prompt_tokens": n + 1, "completion_tokens": 500,
                                                   "cached_tokens": 10000, "cache_creation_tokens": 2000}))
            for case, u in tcases:
                rows.append(cpt_row(ctx, f"tier_{tier}_{case}", key, u, provider=prov, service_tier=tier, billing_time=bt))

        # off-peak windows
        if key in ctx.off_peak_keys:
            # bare off-peak keys (deepseek-flash, ...) are not resolvable without a provider
            op_prov = prov if prov is not None or "/" in key else ctx.rows[key].get("litellm_provider")
            for label, t in [
                ("offpeak_weekday_0430", "2025-06-04T04:30:00Z"),
                ("offpeak_weekday_0000", "2025-06-04T00:00:00Z"),
                ("offpeak_weekday_0100", "2025-06-04T01:00:00Z"),
                ("offpeak_weekday_1000", "2025-06-04T10:00:00Z"),
                ("offpeak_weekday_0959", "2025-06-04T09:59:00Z"),
                ("offpeak_saturday_1200", "2025-06-07T12:00:00Z"),
                ("offpeak_friday_2000", "2025-06-06T20:00:00Z"),
                ("offpeak_sunday_2330", "2025-06-08T23:30:00Z"),
                ("offpeak_monday_0800", "2025-06-09T08:00:00Z"),
                ("offpeak_monday_0200", "2025-06-09T02:00:00Z"),
                ("offpeak_weekday_0559", "2025-06-04T05:59:00Z"),
                ("offpeak_weekday_0600", "2025-06-04T06:00:00Z"),
            ]:
                for case, u in (BASE_USAGES[0], BASE_USAGES[2]):
                    rows.append(cpt_row(ctx, f"{label}_{case}", key, u, provider=op_prov, billing_time=t))

    STATS.counters["cpt_kwargs_vs_usage_object_disagreements"] = kw_disagree
    STATS.notes["cpt_no_provider_errors"] = no_provider_errors

    # ---- edge usages (clamping, explicit zeros) on a deterministic sample ---------------
    edge_usages = [
        ("edge_zero", {"prompt_tokens": 0, "completion_tokens": 0}),
        ("edge_explicit_zero_details", {"prompt_tokens": 1000, "completion_tokens": 500, "cached_tokens": 0,
                                        "cache_creation_tokens": 0, "reasoning_tokens": 0}),
        ("edge_cached_exceeds_prompt", {"prompt_tokens": 100, "completion_tokens": 10, "cached_tokens": 150}),
        ("edge_cache_sum_exceeds_prompt", {"prompt_tokens": 100, "completion_tokens": 10, "cached_tokens": 80,
                                           "cache_creation_tokens": 50}),
        ("edge_reasoning_exceeds_completion", {"prompt_tokens": 100, "completion_tokens": 100, "reasoning_tokens": 150}),
        ("edge_all_reasoning", {"prompt_tokens": 100, "completion_tokens": 100, "reasoning_tokens": 100}),
        ("edge_all_cached", {"prompt_tokens": 1000, "completion_tokens": 1, "cached_tokens": 1000}),
    ]
    ok_keys = sorted({r["input"]["model"] for r in rows
                      if r["case"] == "plain" and "error" not in r["expected"] and "provider" not in r["input"]})
    erng = random.Random(99)
    edge_keys = sorted(erng.sample(ok_keys, 60))
    for key in edge_keys:
        bt = DEFAULT_BILLING_TIME if key in ctx.off_peak_keys else None
        for case, u in edge_usages:
            rows.append(cpt_row(ctx, case, key, u, billing_time=bt))

    # ---- explicit provider cases (~300) -----------------------------------------------
    rng = random.Random(20250604)
    bare = sorted(k for k in chat_keys if "/" not in k)
    chosen = list(no_provider_errors)
    chosen = [k for k in chosen if "/" not in k]
    rest = [k for k in bare if k not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, 260 - len(chosen))]
    usages = BASE_USAGES
    prov_rows = []
    for i, key in enumerate(sorted(chosen)):
        lp = ctx.rows[key].get("litellm_provider")
        case, u = usages[i % len(usages)]
        bt = DEFAULT_BILLING_TIME if key in ctx.off_peak_keys else None
        prov_rows.append(cpt_row(ctx, f"provider_{case}", key, u, provider=lp, billing_time=bt, want_key=True))
    # the same bare model under other providers (prefix join, fallbacks)
    cross = [
        ("gpt-4o", "openai"), ("gpt-4o", "azure"), ("gpt-4o", "openrouter"), ("gpt-4o", "groq"),
        ("gpt-4o-mini", "azure"), ("gpt-4.1", "azure"), ("o3-mini", "azure"), ("gpt-5", "azure"),
        ("claude-sonnet-4-5", "anthropic"), ("claude-sonnet-4-5", "bedrock"), ("claude-sonnet-4-5", "vertex_ai"),
        ("claude-3-5-sonnet-20240620", "vertex_ai"), ("gemini-2.5-pro", "gemini"), ("gemini-2.5-pro", "vertex_ai"),
        ("gemini-2.5-flash", "gemini"), ("gemini-2.5-flash", "vertex_ai"), ("deepseek-chat", "deepseek"),
        ("deepseek-reasoner", "deepseek"), ("mistral-large-latest", "mistral"), ("grok-3", "xai"),
        ("grok-4", "xai"), ("llama-3.1-8b-instant", "groq"), ("llama3", "ollama"), ("sonar", "perplexity"),
        ("sonar-pro", "perplexity"), ("qwen-plus", "dashscope"), ("qwen-flash", "dashscope"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock"),
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai"),
        ("accounts/fireworks/models/llama-v3p1-8b-instruct", "fireworks_ai"),
        ("openai/gpt-4o", "openrouter"), ("anthropic/claude-sonnet-4.5", "openrouter"),
        ("gpt-4o", "github_copilot"), ("unknown-model-xyz", "openai"), ("unknown-model-xyz", "fireworks_ai"),
        ("llama-v3p1-70b-instruct", "fireworks_ai"), ("mixtral-8x22b-instruct", "fireworks_ai"),
        ("unknown-model-xyz", "together_ai"), ("Qwen/Qwen2.5-72B-Instruct", "together_ai"),
        ("gpt-4o", "custom_openai"), ("gpt-4o", "hosted_vllm"), ("gpt-4o", "litellm_proxy"),
        ("openai/openai/gpt-4o", "openai"), ("azure/azure/gpt-4o", "azure"),
    ]
    for i, (m, p) in enumerate(cross):
        case, u = usages[i % len(usages)]
        prov_rows.append(cpt_row(ctx, f"provider_cross_{case}", m, u, provider=p, want_key=True))
    rows.extend(prov_rows)
    STATS.counters["cpt_provider_cases"] = len(prov_rows)

    # ---- non-exact names (~200) -------------------------------------------------------
    names = nonexact_names(ctx, chat_keys)
    for i, m in enumerate(names):
        case, u = usages[i % len(usages)]
        label = "exactname" if (m in ctx.rows) else "nonexact"
        rows.append(cpt_row(ctx, f"{label}_{case}", m, u, want_key=True))
    STATS.counters["cpt_nonexact_cases"] = len(names)
    return rows


def nonexact_names(ctx: Ctx, chat_keys: list[str]) -> list[str]:
    rows = ctx.rows
    fixed = [
        "openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4.1", "openai/o3", "openai/o3-mini", "openai/gpt-5",
        "openai/gpt-5-mini", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini-2024-07-18",
        "openai/gpt-4o-2024-08-06", "gpt-4-0613", "gpt-3.5-turbo-0125", "gpt-4o-2099-01-01",
        "anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-1", "anthropic/claude-3-5-haiku-20241022",
        "anthropic/claude-3-7-sonnet-latest", "claude-sonnet-4-5-20250929", "claude-sonnet-latest", "claude-opus-latest",
        "claude-haiku-latest", "claude-3-5-sonnet-latest", "anthropic/claude-sonnet-latest", "claude-sonnet-9-9",
        "claude-opus-4-5-20991231", "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/us-east-1/anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock/us-west-2/anthropic.claude-instant-v1",
        "bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock/converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/anthropic.claude-future-9-v1:0", "anthropic.claude-future-9-v1:0", "us.anthropic.claude-3-haiku-20240307-v1:0",
        "bedrock/meta.llama3-70b-instruct-v1:0", "bedrock/amazon.nova-pro-v1:0", "bedrock/us.amazon.nova-pro-v1:0",
        "vertex_ai/gemini-2.5-pro", "vertex_ai/gemini-2.5-flash", "vertex_ai/gemini-2.0-flash-001", "vertex_ai/gemini-1.5-pro",
        "vertex_ai/claude-sonnet-4-5", "vertex_ai/claude-sonnet-4-5@20250929", "vertex_ai/claude-3-5-sonnet-v2@20241022",
        "vertex_ai/mistral-large@2407", "vertex_ai/meta/llama-3.1-405b-instruct-maas", "vertex_ai/gemini-pro",
        "gemini/gemini-2.5-pro", "gemini/gemini-2.5-flash", "gemini/gemini-2.0-flash", "gemini/gemini-pro-latest",
        "gemini/gemini-9-ultra", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-pro-latest", "gemini-1.5-pro-002",
        "azure/gpt-4o", "azure/gpt-4o-mini", "azure/my-deployment", "azure/gpt-4o-2024-08-06", "azure/o3-mini",
        "azure_ai/gpt-4o", "azure_ai/mistral-large", "deepseek/deepseek-chat", "deepseek/deepseek-reasoner",
        "deepseek-chat", "deepseek-reasoner", "deepseek/deepseek-v9", "xai/grok-3", "xai/grok-4", "xai/grok-3-mini",
        "xai/grok-beta", "grok-3", "xai/grok-9", "groq/llama-3.1-8b-instant", "groq/llama-3.3-70b-versatile",
        "groq/unknown-model", "mistral/mistral-large-latest", "mistral/mistral-small-latest", "mistral-large-latest",
        "mistral/codestral-latest", "openrouter/openai/gpt-4o", "openrouter/anthropic/claude-sonnet-4.5",
        "openrouter/google/gemini-2.5-pro", "openrouter/unknown/unknown-model", "openrouter/deepseek/deepseek-chat",
        "perplexity/sonar", "perplexity/sonar-pro", "perplexity/sonar-reasoning-pro", "perplexity/unknown",
        "dashscope/qwen-plus", "dashscope/qwen-max", "dashscope/qwen-flash", "dashscope/qwen-unknown",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai/unknown/model-7b",
        "together_ai/meta-llama/Llama-2-70b-chat-hf", "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
        "fireworks_ai/accounts/fireworks/models/unknown-70b", "fireworks_ai/llama-v3p1-405b-instruct",
        "fireworks_ai/accounts/fireworks/models/mystery-3b", "ollama/llama3", "ollama/llama3.1", "ollama_chat/llama3",
        "ollama/unknown", "llama3", "gpt-9", "unknown-model", "foo/bar", "", "openai/", "GPT-4O", "gpt-4o ",
        "OpenAI/gpt-4o", "openai//gpt-4o", "Gpt-4o-Mini", "CLAUDE-SONNET-4-5", "text-embedding-3-small",
        "ft:gpt-4o-mini-2024-07-18:org::abc123", "ft:gpt-3.5-turbo:my-org:custom_suffix:id",
        "hosted_vllm/gpt-4o", "lm_studio/gpt-4o", "litellm_proxy/gpt-4o", "custom_openai/gpt-4o",
        "cerebras/llama3.1-8b", "sambanova/Meta-Llama-3.1-8B-Instruct", "nebius/meta-llama/Llama-3.3-70B-Instruct",
        "deepinfra/meta-llama/Llama-3.3-70B-Instruct", "novita/deepseek/deepseek-r1", "hyperbolic/deepseek-ai/DeepSeek-V3",
        "github_copilot/gpt-4o", "chatgpt/gpt-5",
    ]
    rng = random.Random(424242)
    gen: list[str] = []
    # provider-prefixed versions of bare keys that are not themselves keys
    bare = [k for k in chat_keys if "/" not in k]
    cand = []
    for k in bare:
        lp = rows[k].get("litellm_provider", "")
        if lp in OAUTH_PROVIDERS:
            continue
        pk = f"{lp}/{k}"
        if pk not in rows and pk not in ctx.alias_of:
            cand.append(pk)
    rng.shuffle(cand)
    gen += sorted(cand[:25])
    # date-stripped versions of dated keys that are not keys
    dated = []
    for k in chat_keys:
        m = re.match(r"^(.*?)-(20\d\d-\d\d-\d\d|20\d{6})$", k)
        if m and m.group(1) not in rows and m.group(1) not in ctx.alias_of:
            dated.append(m.group(1))
    rng.shuffle(dated)
    gen += sorted(set(dated[:20]))
    # upper-cased exact keys (case-insensitive lookup)
    upp = [k.upper() for k in chat_keys if k.upper() not in rows and "/" not in k and rows[k].get("litellm_provider") not in OAUTH_PROVIDERS]
    rng.shuffle(upp)
    gen += sorted(upp[:10])
    # dated versions of undated keys
    und = [k + "-2031-01-01" for k in bare if not re.search(r"\d{4}-\d\d-\d\d", k) and rows[k].get("litellm_provider") not in OAUTH_PROVIDERS]
    rng.shuffle(und)
    gen += sorted(und[:15])
    seen = set()
    out = []
    for n in fixed + gen:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


# --------------------------------------------------------------------------------------
# 2. completion_cost
# --------------------------------------------------------------------------------------
CC_PROVIDERS = [
    "openai", "anthropic", "gemini", "vertex_ai", "bedrock", "xai", "deepseek", "groq", "mistral",
    "openrouter", "perplexity", "dashscope", "azure", "fireworks_ai", "together_ai",
]


def _family(lp: str) -> str:
    if lp.startswith("vertex_ai"):
        return "vertex_ai"
    if lp in ("bedrock", "bedrock_converse"):
        return "bedrock"
    return lp


def gen_completion_cost(ctx: Ctx) -> list[dict]:
    rng = random.Random(1500)
    chat = sorted(k for k, v in ctx.rows.items() if v.get("mode") == "chat" and k not in ctx.alias_of)
    by_fam: dict[str, list[str]] = defaultdict(list)
    for k in chat:
        by_fam[_family(ctx.rows[k].get("litellm_provider", ""))].append(k)
    rows: list[dict] = []
    seq = 0
    per = 100
    # openrouter has no rows of its own in the price file: route other providers' models through it
    or_keys = [k for k in chat if "/" in k and k.split("/", 1)[0] in ("openai", "anthropic", "gemini", "deepseek", "xai", "mistral")]
    or_keys += [k for k in chat if "/" not in k and ctx.rows[k].get("litellm_provider") in ("openai", "anthropic")]
    by_fam["openrouter"] = sorted(set(or_keys))
    for fam in CC_PROVIDERS:
        keys = list(by_fam.get(fam, []))
        rng.shuffle(keys)
        picks = sorted(keys[:per])
        # top up to `per` cases by reusing keys with other usages
        i = 0
        while len(picks) and i < per:
            key = picks[i % len(picks)]
            variant = i % 10
            seq += 1
            obj, provider, st = make_response(ctx, rng, key, fam, variant, seq)
            rows.append(cc_row(ctx, f"{fam}_v{variant}", obj, provider, st))
            i += 1
    rows += gen_cache_write_responses(ctx, chat)
    STATS.counters["cc_cases"] = len(rows)
    return rows


def chat_completion(id_: str, model: str, usage: dict) -> dict:
    """A minimal OpenAI chat.completion dict carrying `usage`."""
    return {
        "id": id_,
        "object": "chat.completion",
        "created": 1749024000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
    }


# OpenAI-shaped usages that carry cache writes the way LiteLLM's own `Usage` writes them: the count as
# `prompt_tokens_details.cache_creation_tokens` (or `cache_write_tokens`, or Anthropic's top-level
# `cache_creation_input_tokens`), optionally split by TTL in `cache_creation_token_details`.
def _cache_write_usages(P: int, C: int) -> list[tuple[str, dict]]:
    W = P // 4
    R = P // 5
    a, b = W // 3, W - W // 3

    def u(ptd=None, **top):
        usage = {"prompt_tokens": P, "completion_tokens": C, "total_tokens": P + C, **top}
        if ptd is not None:
            usage["prompt_tokens_details"] = ptd
        return usage

    ttl = lambda m5, h1: {"ephemeral_5m_input_tokens": m5, "ephemeral_1h_input_tokens": h1}  # noqa: E731
    return [
        ("creation", u({"cached_tokens": R, "cache_creation_tokens": W})),
        ("creation_only", u({"cache_creation_tokens": W})),
        ("creation_ttl_split", u({"cached_tokens": R, "cache_creation_tokens": W, "cache_creation_token_details": ttl(a, b)})),
        ("creation_ttl_1h", u({"cache_creation_tokens": W, "cache_creation_token_details": ttl(0, W)})),
        ("creation_ttl_5m", u({"cache_creation_tokens": W, "cache_creation_token_details": ttl(W, 0)})),
        ("creation_ttl_partial", u({"cache_creation_tokens": W, "cache_creation_token_details": {"ephemeral_1h_input_tokens": a}})),
        ("write_ttl_split", u({"cache_write_tokens": W, "cache_creation_token_details": ttl(a, b)})),
        ("write_zero_creation", u({"cache_write_tokens": 0, "cache_creation_tokens": W})),
        ("anthropic_top_level", u({"cached_tokens": R}, cache_creation_input_tokens=W)),
    ]


def gen_cache_write_responses(ctx: Ctx, chat: list[str]) -> list[dict]:
    """`completion_cost` of responses whose usage carries cache writes: every chat row with a 1-hour write rate
    (every usage shape), 80 sampled chat rows with only a write rate and 40 without one (every other shape),
    the `*-latest` alias rows, and a few rows with the TTL split but no write count (see SUMMARY)."""
    rng = random.Random(1_000_001)
    # github_copilot/chatgpt rows: LiteLLM's resolution of them starts an OAuth device flow (fails offline)
    chat = [k for k in chat if ctx.rows[k].get("litellm_provider") not in OAUTH_PROVIDERS]
    one_hour = [k for k in chat if "cache_creation_input_token_cost_above_1hr" in ctx.rows[k]]
    write_only = [k for k in chat if "cache_creation_input_token_cost" in ctx.rows[k] and k not in one_hour]
    no_write = [k for k in chat if "cache_creation_input_token_cost" not in ctx.rows[k]
                and ctx.rows[k].get("input_cost_per_token")]
    rng.shuffle(write_only)
    rng.shuffle(no_write)
    aliases = sorted(k for k in ctx.alias_of if ctx.rows.get(k, {}).get("mode") == "chat"
                     and ctx.rows[k].get("litellm_provider") not in OAUTH_PROVIDERS)
    rows: list[dict] = []
    seq = 0
    plan = [(k, "all") for k in one_hour] + [(k, "some") for k in sorted(write_only[:80] + no_write[:40])]
    plan += [(k, "some") for k in aliases]
    for key, which in plan:
        usages = _cache_write_usages(rng.choice([1000, 20000, 150000, 300000]), rng.choice([10, 500, 4000]))
        if which == "some":
            usages = [usages[seq % len(usages)], usages[(seq + 4) % len(usages)]]
        for label, usage in usages:
            seq += 1
            row = ctx.rows[key]
            lp = row.get("litellm_provider", "")
            # naming: the key itself, or the bare name with the row's provider (every other line)
            model, provider = key, None
            if seq % 2 == 0 and key.startswith(lp + "/"):
                model, provider = key.split("/", 1)[1], lp
            obj = chat_completion(f"chatcmpl-cw-{seq:05d}", model, usage)
            rows.append(cc_row(ctx, f"cache_write_{label}", obj, provider, None))
    # OpenAI's 30-minute and 12-hour TTLs: every chat row with a 12-hour write rate, below and above its
    # thresholds, in the standard and the priority tier
    twelve = [k for k in chat if "cache_creation_input_token_cost_above_12hr" in ctx.rows[k]]
    for key in twelve:
        for P in (20000, 300000):
            W = P // 4
            for label, ttl in [
                ("creation_ttl_30m_12h", {"ephemeral_30m_input_tokens": W // 3, "ephemeral_12h_input_tokens": W - W // 3}),
                ("creation_ttl_every", {"ephemeral_5m_input_tokens": W // 8, "ephemeral_30m_input_tokens": W // 4,
                                        "ephemeral_1h_input_tokens": W // 8, "ephemeral_12h_input_tokens": W // 4}),
            ]:
                for tier in (None, "priority"):
                    seq += 1
                    obj = chat_completion(f"chatcmpl-cw-{seq:05d}", key, {
                        "prompt_tokens": P, "completion_tokens": 100, "total_tokens": P + 100,
                        "prompt_tokens_details": {"cached_tokens": P // 5, "cache_creation_tokens": W,
                                                  "cache_creation_token_details": ttl}})
                    if tier:
                        obj["service_tier"] = tier
                    rows.append(cc_row(ctx, f"cache_write_{label}", obj, None, tier))
    # the TTL split without a write count: LiteLLM bills the split on top of an unreduced prompt
    for key in one_hour[:12]:
        seq += 1
        P, C, W = 20000, 500, 5000
        obj = chat_completion(f"chatcmpl-cw-{seq:05d}", key, {
            "prompt_tokens": P, "completion_tokens": C, "total_tokens": P + C, "prompt_tokens_details": {
                "cache_creation_token_details": {"ephemeral_5m_input_tokens": W // 2, "ephemeral_1h_input_tokens": W - W // 2}}})
        rows.append(cc_row(ctx, "cache_write_ttl_without_count", obj, None, None))
    STATS.counters["cc_cache_write_cases"] = len(rows)
    return rows


def make_response(ctx: Ctx, rng: random.Random, key: str, fam: str, variant: int, seq: int):
    """An OpenAI-format chat.completion dict; the model/provider naming varies with `variant`."""
    P = rng.choice([10, 150, 1000, 4096, 20000, 128001, 200001, 272001, 300000])
    C = rng.choice([1, 50, 500, 2000, 8000])
    usage = {"prompt_tokens": P, "completion_tokens": C, "total_tokens": P + C}
    ptd = {}
    ctd = {}
    if variant in (1, 3, 5, 7, 9):
        ptd["cached_tokens"] = P // 3
    if variant in (3, 8) and fam in ("anthropic", "bedrock", "vertex_ai", "openrouter", "gemini", "dashscope"):
        ptd["cache_write_tokens"] = P // 5
    if variant in (2, 5, 7):
        ctd["reasoning_tokens"] = C // 2
    if ptd or variant == 4:
        usage["prompt_tokens_details"] = {"cached_tokens": 0, **ptd} if variant == 4 else ptd
    if ctd or variant == 4:
        usage["completion_tokens_details"] = {"reasoning_tokens": 0, **ctd} if variant == 4 else ctd
    provider_reported_cost = variant == 6 and fam in ("openrouter", "xai", "perplexity", "together_ai", "fireworks_ai")
    if provider_reported_cost:
        usage["cost"] = round(P * 1e-7 + C * 4e-7, 12)
    row = ctx.rows[key]
    lp = row.get("litellm_provider", "")
    bare = key.split("/", 1)[1] if key.startswith(lp + "/") else key
    if fam == "openrouter":
        # openrouter names are "<vendor>/<model>"; the vendor part is the row's provider
        inner = key if "/" in key else f"{lp}/{key}"
        if variant in (0, 3):
            inner = inner + "-unknown-variant"
        lp, bare, key = "openrouter", inner, "openrouter/" + inner
        if variant in (0, 2, 4, 6, 8):
            usage["cost"] = round(P * 3e-7 + C * 1.2e-6, 12)
    # naming: 0,3,6,9: model=key, no provider; 1,4,7: model=bare + provider; 2,5,8: model=bare, provider=family
    provider = None
    model = key
    if variant in (1, 4, 7):
        model, provider = bare, lp
    elif variant in (2, 5, 8):
        model, provider = bare, fam
    obj = chat_completion(f"chatcmpl-diff-{seq:05d}", model, usage)
    st = None
    if variant == 9:
        tiers = service_tiers_of(row)
        if tiers:
            st = tiers[0]
            obj["service_tier"] = st
        else:
            obj["service_tier"] = "default"
    return obj, provider, st


def cc_row(ctx: Ctx, case: str, obj: dict, provider, st) -> dict:
    inp = {"response": obj}
    if provider is not None:
        inp["provider"] = provider
    try:
        with ctx.pinned_billing_time(ctx.default_time):
            resp = ctx.ModelResponse(**json.loads(json.dumps(obj)))
            total = ctx.litellm.completion_cost(completion_response=resp, custom_llm_provider=provider)
        exp = {"total_cost": money(total, f"cc:{obj['model']}")}
        # cross-check against cost_per_token on the same usage
        try:
            u = obj["usage"]
            uu = {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"]}
            ptd = u.get("prompt_tokens_details") or {}
            ctd = u.get("completion_tokens_details") or {}
            if ptd.get("cached_tokens"):
                uu["cached_tokens"] = ptd["cached_tokens"]
            written = ptd.get("cache_write_tokens")  # LiteLLM: this one when present (0 included)
            if written is None:
                written = ptd.get("cache_creation_tokens") or u.get("cache_creation_input_tokens")
            if written:
                uu["cache_creation_tokens"] = written
            if ptd.get("cache_creation_token_details"):
                return {"case": case, "input": inp, "expected": exp}  # the flat usage has no TTL split
            if ctd.get("reasoning_tokens"):
                uu["reasoning_tokens"] = ctd["reasoning_tokens"]
            if "cost" in u:
                STATS.counters["cc_cases_with_provider_reported_cost"] += 1
                if total == u["cost"]:
                    STATS.counters["cc_provider_reported_cost_used_verbatim"] += 1
                else:
                    STATS.note("cc_provider_cost_not_used", f"{obj['model']} provider={provider}: usage.cost={u['cost']!r} completion_cost={total!r}", limit=30)
                return {"case": case, "input": inp, "expected": exp}
            p, c = ctx.cost_per_token(obj["model"], uu, provider=provider, service_tier=st)
            if not math.isclose(p + c, total, rel_tol=1e-12, abs_tol=1e-15):
                STATS.note("cc_vs_cpt", f"{obj['model']} provider={provider} tier={st} cost_field={'cost' in u}: completion_cost={total!r} cost_per_token sum={p + c!r}", limit=60)
        except Exception as e:  # noqa: BLE001
            STATS.note("cc_vs_cpt", f"{obj['model']} provider={provider}: completion_cost={total!r} but cost_per_token raised {type(e).__name__}", limit=60)
    except Exception as e:  # noqa: BLE001
        exp = err_obj(e)
    return {"case": case, "input": inp, "expected": exp}


# --------------------------------------------------------------------------------------
# 3. model_info
# --------------------------------------------------------------------------------------
INFO_FIELDS = ["key", "litellm_provider", "mode", "max_tokens", "max_input_tokens", "max_output_tokens",
               "input_cost_per_token", "output_cost_per_token"]
MONEY_FIELDS = {"input_cost_per_token", "output_cost_per_token"}
SUPPORTS = ["response_schema", "function_calling", "vision", "reasoning", "prompt_caching",
            "parallel_function_calling", "system_messages", "tool_choice", "audio_input", "audio_output",
            "pdf_input", "web_search"]


def model_info_row(ctx: Ctx, model: str, provider=None, case="key") -> dict:
    lt = ctx.litellm
    import litellm.utils as lu

    try:
        info = lt.get_model_info(model=model, custom_llm_provider=provider)
        sel = {}
        for f in INFO_FIELDS:
            v = info.get(f)
            if f in MONEY_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool):
                v = money(v, f"mi:{model}:{f}")
            sel[f] = v
    except Exception as e:  # noqa: BLE001
        sel = {"error": type(e).__name__, "message": str(e)[:200]}
    sup = {}
    for s in SUPPORTS:
        fn = getattr(lu, "supports_" + s)
        try:
            v = fn(model, provider)
            sup[s] = v if isinstance(v, bool) else repr(v)
        except Exception as e:  # noqa: BLE001
            sup[s] = type(e).__name__
            STATS.note("supports_raised", f"supports_{s}({model!r}, {provider!r}) raised {type(e).__name__}")
    r = {"case": case, "model": model}
    if provider is not None:
        r["provider"] = provider
    r["info"] = sel
    r["supports"] = sup
    return r


def gen_model_info(ctx: Ctx) -> list[dict]:
    rows = []
    keys = sorted(k for k in ctx.raw if k not in ("sample_spec", "fallback_generalizations"))
    for k in keys:
        rows.append(model_info_row(ctx, k, case="key"))
    # odd names (~300)
    chat_keys = sorted(k for k, v in ctx.rows.items() if v.get("mode") == "chat")
    odd = nonexact_names(ctx, chat_keys)
    rng = random.Random(777)
    extra = []
    allk = [k for k in keys if isinstance(ctx.raw.get(k), dict)]
    # bare names of prefixed keys
    stripped = sorted({k.split("/", 1)[1] for k in allk if "/" in k} - set(ctx.raw))
    rng.shuffle(stripped)
    extra += sorted(stripped[:90])
    # keys with a provider passed separately
    with_p = []
    for k in sorted(rng.sample(allk, 40)):
        lp = ctx.rows.get(k, {}).get("litellm_provider")
        if lp and lp not in OAUTH_PROVIDERS:
            bare = k.split("/", 1)[1] if k.startswith(lp + "/") else k
            with_p.append((bare, lp))
    seen = set(keys)
    n = 0
    for m in odd + extra:
        if m in seen:
            continue
        seen.add(m)
        rows.append(model_info_row(ctx, m, case="odd"))
        n += 1
    for m, p in with_p:
        rows.append(model_info_row(ctx, m, provider=p, case="with_provider"))
        n += 1
    for m, p in [("gpt-4o", "azure"), ("gpt-4o", "openrouter"), ("claude-sonnet-4-5", "bedrock"),
                 ("gemini-2.5-pro", "gemini"), ("gemini-2.5-pro", "vertex_ai"), ("llama3", "ollama"),
                 ("deepseek-chat", "deepseek"), ("mistral-large-latest", "mistral"), ("gpt-4o", "github_copilot"),
                 ("gpt-4o", "hosted_vllm"), ("gpt-4o", "lm_studio"), ("unknown-model", "fireworks_ai"),
                 ("unknown-model", "nebius"), ("unknown-model", "databricks"), ("unknown-model", "openai"),
                 ("unknown-model", "not_a_provider")]:
        rows.append(model_info_row(ctx, m, provider=p, case="with_provider"))
        n += 1
    STATS.counters["mi_odd_cases"] = n
    return rows


# --------------------------------------------------------------------------------------
# 4. get_llm_provider
# --------------------------------------------------------------------------------------
def glp_row(ctx: Ctx, case: str, model, api_base=None, custom_llm_provider=None) -> dict:
    inp = {"model": model}
    if api_base is not None:
        inp["api_base"] = api_base
    if custom_llm_provider is not None:
        inp["custom_llm_provider"] = custom_llm_provider
    try:
        m, p, _key, base = ctx.litellm.get_llm_provider(model=model, custom_llm_provider=custom_llm_provider, api_base=api_base)
        exp = {"model": m, "provider": p, "api_base": base}
    except Exception as e:  # noqa: BLE001
        exp = err_obj(e)
    return {"case": case, "input": inp, "expected": exp}


def gen_get_llm_provider(ctx: Ctx) -> list[dict]:
    lt = ctx.litellm
    rows = []
    rng = random.Random(31337)
    allk = sorted(k for k in ctx.raw if isinstance(ctx.raw.get(k), dict) and k not in ("sample_spec", "fallback_generalizations"))
    provs = sorted(str(getattr(p, "value", p)) for p in lt.provider_list)
    STATS.counters["provider_list_len"] = len(provs)
    # sample model per provider
    by_prov = defaultdict(list)
    for k in allk:
        lp = ctx.rows.get(k, {}).get("litellm_provider")
        if lp:
            by_prov[lp].append(k)
    for p in provs:
        if p in OAUTH_PROVIDERS:
            STATS.note("glp_skipped_oauth", p)
            continue
        ks = by_prov.get(p, [])
        sample = None
        for k in ks:
            sample = k.split("/", 1)[1] if k.startswith(p + "/") else k
            break
        rows.append(glp_row(ctx, "prefix_sample", f"{p}/{sample or 'some-model'}"))
        rows.append(glp_row(ctx, "prefix_generic", f"{p}/some-model-1b"))
        rows.append(glp_row(ctx, "custom_provider", "some-model-1b", custom_llm_provider=p))
    # bare names of catalog keys (sampled) and prefixed keys (sampled)
    bare = [k for k in allk if "/" not in k and ctx.rows.get(k, {}).get("litellm_provider") not in OAUTH_PROVIDERS]
    pref = [k for k in allk if "/" in k and k.split("/", 1)[0] not in OAUTH_PROVIDERS]
    rng.shuffle(bare)
    rng.shuffle(pref)
    for k in sorted(bare[:420]):
        rows.append(glp_row(ctx, "bare_key", k))
    for k in sorted(pref[:300]):
        rows.append(glp_row(ctx, "prefixed_key", k))
    # api_base detection
    endpoints = sorted(set(getattr(lt, "openai_compatible_endpoints", [])))
    STATS.counters["openai_compatible_endpoints"] = len(endpoints)
    for ep in endpoints:
        url = ep if ep.startswith("http") else "https://" + ep
        rows.append(glp_row(ctx, "api_base_endpoint", "some-model", api_base=url))
        rows.append(glp_row(ctx, "api_base_endpoint_slash", "some-model", api_base=url.rstrip("/") + "/"))
    hosts = [
        "https://api.groq.com/openai/v1", "https://api.deepseek.com", "https://api.deepseek.com/v1", "https://api.x.ai/v1",
        "https://api.mistral.ai/v1", "https://api.mistral.ai", "https://api.together.xyz/v1", "https://api.fireworks.ai/inference/v1",
        "https://openrouter.ai/api/v1", "https://api.perplexity.ai", "https://api.deepinfra.com/v1/openai",
        "https://api.cerebras.ai/v1", "https://api.studio.nebius.ai/v1", "https://api.studio.nebius.com/v1",
        "https://api.sambanova.ai/v1", "https://api.novita.ai/v3/openai", "https://api.hyperbolic.xyz/v1",
        "http://localhost:11434", "http://localhost:11434/v1", "http://127.0.0.1:11434", "http://localhost:1234/v1",
        "http://localhost:1234", "http://localhost:8000/v1", "https://api.openai.com/v1", "https://api.anthropic.com",
        "https://generativelanguage.googleapis.com/v1beta", "https://api.moonshot.ai/v1", "https://api.moonshot.cn/v1",
        "https://api.llama.com/compat/v1", "https://api.llama.com/compat/v1/", "https://integrate.api.nvidia.com/v1",
        "https://api.endpoints.anyscale.com/v1", "https://codestral.mistral.ai/v1", "https://api.friendli.ai/serverless/v1",
        "https://api.githubcopilot.com", "https://inference.baseten.co/v1", "https://router.huggingface.co/v1",
        "https://attacker.example/api.groq.com/openai/v1", "https://api.groq.com.attacker.example/openai/v1",
        "api.groq.com/openai/v1", "https://API.GROQ.COM/openai/v1", "https://api.groq.com:443/openai/v1",
        "https://example.com/v1", "not a url", "",
    ]
    for h in hosts:
        for m in ("some-model", "llama-3.1-8b-instant", "gpt-4o", "groq/llama-3.1-8b-instant"):
            rows.append(glp_row(ctx, "api_base_host", m, api_base=h))
    # custom_llm_provider overrides
    for m, p in [("gpt-4o", "azure"), ("gpt-4o", "openai"), ("gpt-4o", "groq"), ("openai/gpt-4o", "openrouter"),
                 ("openai/gpt-4o", "openai"), ("azure/gpt-4o", "openai"), ("claude-sonnet-4-5", "bedrock"),
                 ("anthropic/claude-sonnet-4-5", "anthropic"), ("gemini-2.5-pro", "gemini"), ("llama3", "ollama"),
                 ("llama3", "ollama_chat"), ("deepseek-chat", "deepseek"), ("mistral-large-latest", "mistral"),
                 ("command-r-plus", "azure"), ("mistral-large", "azure"), ("x/y", "openrouter"),
                 ("some-model", "not_a_provider"), ("some-model", ""), ("gpt-4o", "OPENAI")]:
        rows.append(glp_row(ctx, "custom_provider_override", m, custom_llm_provider=p))
    # odd names of LITELLM.md §3b
    odd = [
        "OpenAI/gpt-4o", "openai//gpt-4o", "openai/", "", "GPT-4O", "gpt-4o ", " gpt-4o", "azure/command-r-plus",
        "azure/mistral-large-latest", "azure/gpt-4o", "cohere/command-r", "cohere/command-r-plus", "cohere/command",
        "anthropic/claude-2", "anthropic/claude-instant-1", "anthropic/claude-sonnet-4-5", "openrouter/x/y",
        "openrouter/openai/gpt-4o", "openrouter/anthropic/claude-sonnet-4.5", "bedrock/converse/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "bedrock/invoke/anthropic.claude-3-5-sonnet-20240620-v1:0", "deepseek-chat", "deepseek-reasoner", "mistral-large-latest",
        "llama3", "gemini-pro-latest", "gpt-9", "gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet-latest", "claude-opus-latest",
        "claude-opus-9-9", "claude-sonnet-7-20991231", "claude-fable-9", "anthropic.claude-future-9-v1:0",
        "us.anthropic.claude-future-9-v1:0", "jev-1", "jev-test-model", "ft:gpt-4o-mini-2024-07-18:org::abc123",
        "ft:gpt-3.5-turbo:my-org:custom_suffix:id", "ft:davinci-002:org::id", "gpt-image-1", "dall-e-3", "sora-2",
        "replicate/meta/llama-3-70b-instruct", "meta/llama-3-70b:" + "a" * 64, "owner/model:" + "0123456789abcdef" * 4,
        "text-embedding-3-small", "text-embedding-ada-002", "whisper-1", "tts-1", "gpt-3.5-turbo-instruct", "babbage-002",
        "command-r", "command-r-plus", "j2-ultra", "chat-bison", "text-bison", "textembedding-gecko", "imagegeneration@006",
        "claude-3-5-sonnet-20240620", "claude-2", "claude-instant-1.2", "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "amazon.titan-text-express-v1", "meta.llama3-70b-instruct-v1:0", "mistral.mistral-large-2402-v1:0",
        "cohere.command-r-v1:0", "ibm/granite-13b-chat-v2", "watsonx/ibm/granite-13b-chat-v2", "o1", "o3", "o3-mini", "o4-mini",
        "gpt-5", "gpt-5-mini", "gpt-4.1", "chatgpt-4o-latest", "gpt-4o-realtime-preview", "gpt-4o-audio-preview",
        "computer-use-preview", "bytez/some-model", "gdc/some-model", "lemonade/some-model", "heroku/some-model",
        "cometapi/some-model", "oci/some-model", "compactifai/some-model", "ovhcloud/some-model", "clarifai/some-model",
        "amazon_nova/some-model", "sap/some-model", "huggingface/meta-llama/Llama-3.3-70B-Instruct",
        "vertex_ai/gemini-2.5-pro", "vertex_ai_beta/gemini-2.5-pro", "gemini/gemini-2.5-pro", "bedrock/us-east-1/anthropic.claude-instant-v1",
        "sagemaker/jumpstart-dft-meta-textgeneration-llama-2-7b", "ollama/llama3", "ollama_chat/llama3", "hosted_vllm/my-model",
        "lm_studio/my-model", "llamafile/my-model", "litellm_proxy/gpt-4o", "custom_openai/gpt-4o", "text-completion-openai/gpt-3.5-turbo-instruct",
        "azure_text/gpt-35-turbo-instruct", "azure_ai/mistral-large", "xai/grok-4", "grok-4", "groq/llama-3.1-8b-instant",
        "perplexity/sonar", "sonar", "codestral/codestral-latest", "text-completion-codestral/codestral-latest",
        "dashscope/qwen-plus", "qwen-plus", "moonshot/kimi-k2", "nvidia_nim/meta/llama3-70b-instruct", "databricks/databricks-dbrx-instruct",
        "databricks-dbrx-instruct", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
        "accounts/fireworks/models/llama-v3p1-8b-instruct", "github/gpt-4o", "friendliai/meta-llama-3.1-8b-instruct",
        "unknown/unknown-model", "a/b/c/d", "/gpt-4o", "openai", "gpt-4o/", "ollama", "none/gpt-4o",
    ]
    for m in odd:
        rows.append(glp_row(ctx, "odd", m))
    rows += gen_resolution_families(ctx, allk, set(bare[:420]) | set(pref[:300]))
    STATS.counters["glp_cases"] = len(rows)
    return rows


BEDROCK_GEOS = ["us", "eu", "apac", "jp", "au", "global", "us-gov"]
MANTLE_REGIONS = ["us-east-1", "us-west-2", "us-gov-east-1", "us-gov-west-1", "eu-west-1", "ap-northeast-1"]


def gen_resolution_families(ctx: Ctx, allk: list[str], sampled: set[str]) -> list[dict]:
    """Every catalog key not in the samples above, and the name families LiteLLM rewrites: `*-latest` aliases,
    Bedrock Mantle region paths, nested provider names, Bedrock geo prefixes under every Bedrock spelling."""
    rng = random.Random(4242)
    rows: list[dict] = []

    def oauth(k: str) -> bool:
        return k.split("/", 1)[0] in OAUTH_PROVIDERS or ctx.rows.get(k, {}).get("litellm_provider") in OAUTH_PROVIDERS

    for k in allk:
        if k not in sampled and not oauth(k):
            rows.append(glp_row(ctx, "key", k))
    # aliases: as keyed, bare under their provider's prefix, and with the provider passed
    provs = {str(getattr(p, "value", p)) for p in ctx.litellm.provider_list}
    for k in sorted(ctx.alias_of):
        if oauth(k):
            continue
        lp = ctx.rows.get(k, {}).get("litellm_provider")
        head, sep, rest = k.partition("/")
        if sep and head in provs:
            rows.append(glp_row(ctx, "alias_provider", rest, custom_llm_provider=head))
        elif lp:
            rows.append(glp_row(ctx, "alias_prefixed", f"{lp}/{k}"))
            rows.append(glp_row(ctx, "alias_provider", k, custom_llm_provider=lp))
    # Bedrock Mantle: every key under every region path (and a path that is not a region)
    for k in sorted(k for k in allk if k.startswith("bedrock_mantle/")):
        rest = k.split("/", 1)[1]
        if "/" in rest:
            continue
        for region in MANTLE_REGIONS + ["not-a-region"]:
            rows.append(glp_row(ctx, "mantle_region", f"bedrock_mantle/{region}/{rest}"))
    # nested provider names: the provider passed instead of prefixed, and the prefix doubled
    nested = sorted(k for k in allk if k.count("/") >= 2 and k.split("/", 1)[0] in provs and not oauth(k))
    rng.shuffle(nested)
    for k in sorted(nested[:300]):
        head, rest = k.split("/", 1)
        rows.append(glp_row(ctx, "nested_provider", rest, custom_llm_provider=head))
        rows.append(glp_row(ctx, "nested_doubled", f"{head}/{k}"))
    # Bedrock geo prefixes: every base id of a geo-prefixed Bedrock row, under every geo and spelling
    bases = sorted({k.split(".", 1)[1] for k in allk if k.split(".", 1)[0] in BEDROCK_GEOS and "/" not in k
                    and ctx.rows.get(k, {}).get("litellm_provider") in ("bedrock", "bedrock_converse")})
    for base in bases:
        for geo in BEDROCK_GEOS:
            name = f"{geo}.{base}"
            rows.append(glp_row(ctx, "bedrock_geo", name))
            rows.append(glp_row(ctx, "bedrock_geo", f"bedrock/{name}"))
            rows.append(glp_row(ctx, "bedrock_geo", f"bedrock/converse/{name}"))
            rows.append(glp_row(ctx, "bedrock_geo", f"bedrock_converse/{name}"))
            rows.append(glp_row(ctx, "bedrock_geo_provider", name, custom_llm_provider="bedrock_converse"))
    # common variants of sampled keys: bare keys under their provider's prefix and with the provider passed,
    # dated and upper-case spellings
    bare = [k for k in allk if "/" not in k and not oauth(k) and ctx.rows.get(k, {}).get("litellm_provider")]
    rng.shuffle(bare)
    for k in sorted(bare[:400]):
        lp = ctx.rows[k]["litellm_provider"]
        rows.append(glp_row(ctx, "variant_prefixed", f"{lp}/{k}"))
        rows.append(glp_row(ctx, "variant_provider", k, custom_llm_provider=lp))
        rows.append(glp_row(ctx, "variant_dated", f"{k}-2031-01-01"))
        rows.append(glp_row(ctx, "variant_upper", k.upper()))
    STATS.counters["glp_family_cases"] = len(rows)
    return rows


# --------------------------------------------------------------------------------------
# 5. supported_params
# --------------------------------------------------------------------------------------
SP_CASES = [
    ("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("gpt-4.1", "openai"), ("o1", "openai"), ("o1-mini", "openai"),
    ("o3", "openai"), ("o3-mini", "openai"), ("o4-mini", "openai"), ("gpt-5", "openai"), ("gpt-5-mini", "openai"),
    ("gpt-5-chat-latest", "openai"), ("gpt-4o-audio-preview", "openai"), ("gpt-4o-search-preview", "openai"),
    ("gpt-3.5-turbo", "openai"), ("gpt-4o", None), ("o3", None), ("gpt-5", None), ("openai/gpt-4o", None),
    ("gpt-4o", "azure"), ("o3-mini", "azure"), ("gpt-5", "azure"), ("my-deployment", "azure"), ("azure/gpt-4o", None),
    ("claude-sonnet-4-5", "anthropic"), ("claude-3-5-sonnet-20240620", "anthropic"), ("claude-3-7-sonnet-20250219", "anthropic"),
    ("claude-opus-4-1", "anthropic"), ("claude-3-haiku-20240307", "anthropic"), ("claude-sonnet-4-5", None),
    ("anthropic/claude-sonnet-4-5", None), ("claude-2", "anthropic"),
    ("gemini-2.5-flash", "gemini"), ("gemini-2.5-pro", "gemini"), ("gemini-2.0-flash", "gemini"), ("gemini-1.5-pro", "gemini"),
    ("gemini-2.5-pro", "vertex_ai"), ("gemini-2.5-flash", "vertex_ai"), ("gemini-2.5-pro", None),
    ("claude-sonnet-4-5", "vertex_ai"), ("claude-3-5-sonnet-v2@20241022", "vertex_ai"), ("mistral-large@2407", "vertex_ai"),
    ("meta/llama-3.1-405b-instruct-maas", "vertex_ai"),
    ("llama3", "ollama"), ("llama3.1", "ollama"), ("llama3", "ollama_chat"), ("qwen3", "ollama_chat"),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock"), ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock"), ("meta.llama3-70b-instruct-v1:0", "bedrock"),
    ("amazon.nova-pro-v1:0", "bedrock"), ("us.amazon.nova-pro-v1:0", "bedrock"), ("mistral.mistral-large-2402-v1:0", "bedrock"),
    ("cohere.command-r-v1:0", "bedrock"), ("converse/anthropic.claude-3-5-sonnet-20240620-v1:0", "bedrock"),
    ("deepseek.r1-v1:0", "bedrock"), ("amazon.titan-text-express-v1", "bedrock"), ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", None),
    ("llama-3.1-8b-instant", "groq"), ("llama-3.3-70b-versatile", "groq"), ("deepseek-r1-distill-llama-70b", "groq"),
    ("deepseek-chat", "deepseek"), ("deepseek-reasoner", "deepseek"),
    ("grok-3", "xai"), ("grok-3-mini", "xai"), ("grok-4", "xai"), ("grok-2-vision", "xai"),
    ("mistral-large-latest", "mistral"), ("mistral-small-latest", "mistral"), ("magistral-medium-latest", "mistral"),
    ("codestral-latest", "codestral"),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai"), ("deepseek-ai/DeepSeek-R1", "together_ai"),
    ("accounts/fireworks/models/llama-v3p1-8b-instruct", "fireworks_ai"), ("accounts/fireworks/models/deepseek-r1", "fireworks_ai"),
    ("openai/gpt-4o", "openrouter"), ("anthropic/claude-sonnet-4.5", "openrouter"), ("deepseek/deepseek-r1", "openrouter"),
    ("sonar", "perplexity"), ("sonar-reasoning-pro", "perplexity"),
    ("meta-llama/Llama-3.3-70B-Instruct", "deepinfra"), ("llama3.1-8b", "cerebras"), ("gpt-oss-120b", "cerebras"),
    ("meta-llama/Llama-3.3-70B-Instruct", "nebius"), ("Meta-Llama-3.1-8B-Instruct", "sambanova"),
    ("deepseek/deepseek-r1", "novita"), ("deepseek-ai/DeepSeek-V3", "hyperbolic"), ("my-model", "hosted_vllm"),
    ("my-model", "lm_studio"), ("my-model", "llamafile"), ("gpt-4o", "litellm_proxy"), ("my-model", "custom_openai"),
    ("meta/llama3-70b-instruct", "nvidia_nim"), ("kimi-k2", "moonshot"), ("qwen-plus", "dashscope"),
    ("command-r-plus", "cohere_chat"), ("command-r", "cohere"), ("databricks-dbrx-instruct", "databricks"),
    ("ibm/granite-13b-chat-v2", "watsonx"), ("mistral-large", "azure_ai"), ("gpt-4o", "azure_ai"),
    ("meta-llama/Llama-3.3-70B-Instruct", "huggingface"), ("gpt-4o", "github"), ("meta-llama-3.1-8b-instruct", "friendliai"),
    ("jamba-1.5-large", "ai21_chat"), ("glm-4.5", "zai"), ("MiniMax-M1", "minimax"), ("llama-3.3-70b", "lambda_ai"),
    ("gpt-4o", "github_copilot"), ("gpt-5", "chatgpt"), ("gpt-3.5-turbo-instruct", "text-completion-openai"),
    ("some-model", "vllm"), ("some-model", "sagemaker"), ("some-model", "replicate"), ("some-model", "not_a_provider"),
    ("totally-unknown-model", None), ("gpt-9", None), ("llama3", None),
]


def gen_supported_params(ctx: Ctx) -> list[dict]:
    lt = ctx.litellm
    rows = []
    for m, p in SP_CASES:
        inp = {"model": m}
        if p is not None:
            inp["provider"] = p
        try:
            v = lt.get_supported_openai_params(model=m, custom_llm_provider=p)
            exp = None if v is None else sorted(set(map(str, v)))
            if v is not None and len(set(v)) != len(v):
                STATS.note("sp_duplicates", f"{m} {p}: {len(v)} entries, {len(set(v))} distinct")
        except Exception as e:  # noqa: BLE001
            exp = err_obj(e)
        rows.append({"input": inp, "expected": exp})
    return rows


# --------------------------------------------------------------------------------------
# SUMMARY.md
# --------------------------------------------------------------------------------------
def write_summary(ctx: Ctx, out: str, results: dict) -> None:
    import importlib.metadata as md

    L = []
    L.append("# LiteLLM differential test data: summary\n")
    L.append(f"Generated by `scripts/litellm-diff/generate.py` (see its README) from litellm {md.version('litellm')} "
             f"(price data: {ctx.price_source}, sha256 {EXPECTED_PRICE_SHA256}), "
             f"`LITELLM_LOCAL_MODEL_COST_MAP=True`, network isolation: {os.environ.get('LITELLM_DIFF_OFFLINE')}, "
             f"clean environment (no API keys, no *_API_BASE). "
             f"Billing clock pinned at {DEFAULT_BILLING_TIME} unless a line carries `billing_time`. "
             f"Do not edit by hand: rerun the generator.\n")
    L.append("| file | lines | bytes | error cases | error classes |")
    L.append("|---|---:|---:|---:|---|")
    for name, (n, size, errs, classes) in results.items():
        cls = ", ".join(f"{k} {v}" for k, v in sorted(classes.items()))
        L.append(f"| {name}.jsonl | {n} | {size} | {errs} | {cls} |")
    L.append("")
    L.append(FORMATS_AND_OBSERVATIONS.strip() + "\n")
    L.append("# Generated details\n")
    L.append("## Counters\n")
    for k, v in sorted(STATS.counters.items()):
        L.append(f"- {k}: {v}")
    L.append("")
    if STATS.nonfinite:
        L.append(f"## Non-finite numbers ({len(STATS.nonfinite)}; written as strings)\n")
        for w in STATS.nonfinite[:40]:
            L.append(f"- {w}")
        L.append("")
    for topic, items in sorted(STATS.notes.items()):
        L.append(f"## {topic} ({STATS.counters.get('note:' + topic, len(items))})\n")
        for it in items:
            L.append(f"- `{it}`")
        L.append("")
    with open(os.path.join(out, "SUMMARY.md"), "w") as f:
        f.write("\n".join(L) + "\n")


FORMATS_AND_OBSERVATIONS = """
## Line formats

Every line is one JSON object. `case` is a label for humans (which usage/variant produced the line); it is
not part of the input. Money is a JSON number written with Python's `repr(float)` (e.g. `2.5e-06`), i.e. the
f64 LiteLLM computed: compare with a relative tolerance (1e-9 is ample) or against the exact decimal of the
same formula; LiteLLM's own float rounding (`0.0009199999999999999`) is not meaningful.
An error is `{"error": "<exception class name>", "message": "<first 200 chars of str(e)>"}`.

* `cost_per_token.jsonl`: `{"case", "input": <an `llm cost --jsonl` input line: model, provider?, usage{prompt_tokens,
  completion_tokens, cached_tokens?, cache_creation_tokens?, reasoning_tokens?}, service_tier?, billing_time?>,
  "expected": {"prompt_cost", "completion_cost", "catalog_key"?} | error}`.
  Usage is in OpenAI convention (cached and cache-creation inside prompt_tokens, reasoning inside
  completion_tokens). The call made for every line is

  ```python
  with litellm._internal_context.pinned_billing_time(billing_time or 2025-06-04T08:00:00Z):
      litellm.cost_per_token(
          model=MODEL, prompt_tokens=P, completion_tokens=C,
          usage_object=Usage(prompt_tokens=P, completion_tokens=C, total_tokens=P + C,
              prompt_tokens_details={"cached_tokens": cached, "cache_write_tokens": cache_creation} or None,
              completion_tokens_details={"reasoning_tokens": reasoning} or None),
          custom_llm_provider=PROVIDER,   # None when the line has no "provider"
          service_tier=SERVICE_TIER)      # None when the line has no "service_tier"
  ```

  (a detail key is only present when the line's usage has it). `catalog_key` is the `key` of the ModelInfo that
  `generic_cost_per_token` priced with, observed by a pass-through wrapper; it is present on every `provider_*`,
  `nonexact_*` and `exactname_*` line (falling back to `get_model_info(model, provider)["key"]`, or an
  `{"error": class}` object, for calculators that do not go through the generic formula: perplexity, dashscope),
  and on exact-key lines only when the priced row is NOT the model string itself.
  Case groups: `plain` (1000/500), `cache_read` (2000/300, 1200 cached), `cache_write` (3000/200, 500 cached,
  1000 written), `reasoning` (500/2000, 1500 reasoning), `above_N_at|over|over_cached` (prompt N and N+1 for every
  `_above_N[k]_tokens` threshold of the row), `tier_N` (dashscope-style `tiered_pricing` range edges),
  `big_prompt` (300000/500), `tier_<flex|priority|fast|balanced|ultrafast>_*` (service tiers, for rows with such
  keys; `fast` maps to the priority keys), `offpeak_*` (rows with `off_peak_pricing`, at given billing times),
  `edge_*` (zero usage, explicit zero details, cache or reasoning counts larger than their totals; 60 sampled
  models), `provider_*` (bare keys with their `litellm_provider`, every key that fails without a provider
  included, plus cross-provider pairs), `nonexact_*` / `exactname_*` (names that are / happen to be keys).
  All 3,471 `mode: chat` rows of the file are covered, plus the 88 `alias_of` rows whose target is a chat row.
  Rows of github_copilot/chatgpt are called with `provider` set (see below).
* `completion_cost.jsonl`: `{"case", "input": {"response": <chat.completion dict>, "provider"?}, "expected":
  {"total_cost"} | error}` from `litellm.completion_cost(completion_response=ModelResponse(**response),
  custom_llm_provider=provider)` under the same pinned billing time. 100 cases for each of openai, anthropic,
  gemini, vertex_ai (all vertex_ai-* families), bedrock (+bedrock_converse), xai, deepseek, groq, mistral,
  openrouter (no rows of its own: other vendors' models as `openrouter/<vendor>/<model>`, some with an unknown
  suffix, half with `usage.cost`), perplexity, dashscope, azure, fireworks_ai, together_ai. Variants: naming
  (`model` = key without provider / bare model + row provider / bare model + family provider), cached tokens,
  cache writes, reasoning, explicit zero details, `usage.cost` (provider-reported), `service_tier` on the response.
  Then the `cache_write_*` groups: responses whose usage carries cache writes as LiteLLM's own `Usage` writes them
  (`prompt_tokens_details.cache_creation_tokens`, `cache_write_tokens`, Anthropic's top-level
  `cache_creation_input_tokens`), with and without the TTL split `cache_creation_token_details`
  {`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`} (all 1h, all 5m, split, partly attributed): every
  usage shape for every chat row with `cache_creation_input_token_cost_above_1hr`, two shapes each for 80 sampled
  rows with only a write rate, 40 without one, and the `*-latest` alias rows (github_copilot/chatgpt rows left
  out: resolving them starts an OAuth flow); `cache_write_creation_ttl_30m_12h|every`: OpenAI's 30-minute and
  12-hour TTLs (`ephemeral_30m_input_tokens`, `ephemeral_12h_input_tokens`) for every chat row with
  `cache_creation_input_token_cost_above_12hr`, at 20,000 and 300,000 prompt tokens, standard and priority tier.
  `cache_write_ttl_without_count` (12 lines): the split without any write count.
* `model_info.jsonl`: `{"case", "model", "provider"?, "info": {key, litellm_provider, mode, max_tokens,
  max_input_tokens, max_output_tokens, input_cost_per_token, output_cost_per_token} | {"error", "message"},
  "supports": {name: bool}}`: `get_model_info(model, custom_llm_provider=provider)` and
  `litellm.utils.supports_<name>(model, provider)` (none of them raised). `case` is `key` (all 4,876 top-level
  keys but sample_spec/fallback_generalizations, alias rows included), `odd` (non-keys) or `with_provider`.
* `get_llm_provider.jsonl`: `{"case", "input": {"model", "api_base"?, "custom_llm_provider"?}, "expected":
  {"model", "provider", "api_base"} | error}` from `litellm.get_llm_provider(model, custom_llm_provider, api_base)`
  in an environment with no *_API_BASE / API key variables (so api_base is LiteLLM's built-in default or null).
  Cases: `prefix_sample`/`prefix_generic`/`custom_provider` for each of the 190 `litellm.provider_list` entries
  (github_copilot and chatgpt skipped: resolving them runs an OAuth device flow), `bare_key` (420 sampled bare
  keys), `prefixed_key` (300 sampled), `api_base_endpoint[_slash]` (each `litellm.openai_compatible_endpoints`
  entry), `api_base_host` (45 hosts x 4 models), `custom_provider_override`, `odd`; then `key` (every other
  top-level key of the file), `alias_prefixed`/`alias_provider` (every `alias_of` row under its provider's prefix
  or with the provider passed), `mantle_region` (every region-free `bedrock_mantle/` key under six region paths and
  one path that is not a region), `nested_provider`/`nested_doubled` (300 sampled `<provider>/<vendor>/<model>`
  keys with the provider passed, and with the prefix doubled), `bedrock_geo[_provider]` (every base id of a
  geo-prefixed Bedrock row under the seven geo prefixes, bare and as `bedrock/`, `bedrock/converse/`,
  `bedrock_converse/`, and with `custom_llm_provider="bedrock_converse"`), `variant_*` (400 sampled bare keys
  under their provider's prefix, with the provider passed, with a date suffix, upper-cased).
* `supported_params.jsonl`: `{"input": {"model", "provider"?}, "expected": [sorted, de-duplicated list] | null}` from
  `litellm.get_supported_openai_params(model=M, custom_llm_provider=P)`.

## LiteLLM behaviour a re-implementation must reproduce (or knowingly differ from)

Pricing (`cost_per_token`):
* Base formula: `prompt = max(P - cached - written, 0) * in + cached * cache_read + written * cache_write`,
  `completion = max(C - reasoning, 0) * out + reasoning * reasoning_rate`. A missing `cache_read_input_token_cost`
  or `cache_creation_input_token_cost` falls back to the (tier-resolved) input rate: no 10% / 125% defaults; an
  explicit 0.0 is kept. Reasoning rate: `output_cost_per_reasoning_token_<tier>`, else the tier output rate when
  `output_cost_per_token_<tier>` exists, else `output_cost_per_reasoning_token`, else the output rate.
* No clamping of the cache counts: with P=100, cached=80, written=50 it bills 130 prompt tokens; with P=100,
  cached=150 it bills 150 cached tokens; with C=100, reasoning=150 it bills 150 reasoning tokens (text clamps to
  0). See the `edge_*` lines. Zero usage costs 0.0. Explicit zero details equal absent details.
* Thresholds `_above_N[k]_tokens`: strictly `prompt_tokens > N` (the `_at` lines are base price, `_over` lines tier
  price), xAI inclusive (`>=`). Every bucket switches, output included; cache rates use their own `_above_` keys
  when present, else keep the base cache rate. The highest crossed threshold wins. With a service tier,
  `<key>_above_N_tokens_<tier>` is preferred, then the standard `_above_` key.
* Service tiers: `<key>_<tier>`, each missing tier key falling back to the standard key; `fast` = `priority`.
  fireworks_ai ignores `service_tier` entirely (its calculator never receives it).
* fireworks_ai: a row without `cache_read_input_token_cost` bills cached tokens at 50% of the input rate (the only
  provider with a non-input default), and unmapped fireworks models fall back to size buckets.
* `tiered_pricing` (dashscope, qwencloud, qwen_ai_platform): tier chosen by prompt tokens with `lo < n <= hi`
  (256000 is the first tier, 256001 the second), above the top range the last tier; all buckets at that tier.
* `off_peak_pricing`: windows `[start, end)` in UTC (`00:00` in, `01:00` out, `10:00` in, `09:59` out,
  `06:00` out), weekdays 1-7 = Mon-Sun, evaluated in `weekday_timezone` when given; off-peak rates replace the
  standard ones. Lines of those rows all carry `billing_time`.
* Key resolution without a provider goes through `get_llm_provider(model)`; 46 chat keys of the file cannot be
  priced by their own exact name (`BadRequestError: LLM Provider NOT provided`: deepseek-chat, deepseek-reasoner,
  gemini-pro-latest, gemini-flash-latest, anyscale/*, amazon-nova/*, together-ai-* buckets, ...) or are priced
  as "not mapped" because the resolved provider differs from the row's (`jamba-*`: resolved `ai21_chat`, row
  `ai21`; `azure/mistral-large-latest`: resolved `openai`) -> `ModelNotMappedError`. With the row's provider
  passed explicitly they all price (see `provider_*`).
* An exact key can be priced from ANOTHER row: with the resolved provider P, `get_model_info` tries `P/model`
  before `model`. 15 chat keys do this (bare `gemini-3*` keys -> `vertex_ai/gemini-3*` rows;
  `moonshotai.kimi-k2.5` -> `bedrock/moonshotai.kimi-k2.5`, which has no `_priority` keys, so the priority tier
  of that key is silently ignored). Those lines carry `catalog_key`.
* Rows that exist but carry no token price cost 0.0 with no error (bedrock image/embedding-ish chat rows,
  ollama, snowflake, github_copilot, ...): a Rust `unpriced` status, not an error.
* Capability fallback rules make unknown names "mapped" with zero prices: `openrouter/anthropic/claude-opus-4-5`
  or `openrouter/anthropic/claude-opus-4-5-unknown-variant` cost 0.0 (no error, `get_model_info` answers with
  key = the name itself, provider openrouter, input/output 0) because a `fallback_generalizations` capability
  rule (Claude family, OpenAI reasoning family gpt-5*/o-series/codex/chat-latest, Gemini >= 2.5) matches them;
  a name no rule matches (`openrouter/openai/gpt-4`) raises `ModelNotMappedError`.
* fireworks_ai unknown names resolve to size-bucket rows (`.../mystery-3b` -> `fireworks-ai-up-to-4b`,
  no size -> `fireworks-ai-default`, priced 0.0), and `fireworks_ai/<model>` expands to
  `fireworks_ai/accounts/fireworks/models/<model>`; see `catalog_key`.
* Passing usage through the legacy kwargs (`cache_read_input_tokens=`, `cache_creation_input_tokens=`) instead of
  `usage_object` gives identical results on the map-priced path (checked for every cache line: 0 differences).

`completion_cost`:
* Equal to `sum(cost_per_token(response.model, usage, provider, service_tier))` for every case except:
  * `usage.cost` (provider-reported) is returned verbatim (all 90 cases: openrouter, xai, perplexity,
    fireworks_ai, together_ai), whatever the token maths says;
  * together_ai: when the model has no `together_ai/<model>` row with an input price, `completion_cost` replaces the
    name by a size bucket parsed with `re.search(r"(\\d+b)", name.lower())`: `together-ai-4.1b-8b` matches `1b`
    and is priced as `together-ai-up-to-4b` (half its own price); `togethercomputer/CodeLlama-34b-Instruct`
    (a row without prices, 0.0 by `cost_per_token`) is priced as `together-ai-21.1b-41b`. Listed under
    `cc_vs_cpt` below.
  * `bedrock_mantle/<region>/<model>` responses: `completion_cost` resolves the name first, which drops the region
    path, and bills the region-free (commercial) row, where `cost_per_token` on the same name bills the region's
    own row (`cc_vs_cpt` below).
* `response.service_tier` (served tier) is honoured ("default" = standard).
* Cache writes of an OpenAI-shaped usage: `prompt_tokens_details.cache_write_tokens` when present (0 included),
  else `cache_creation_tokens` (LiteLLM's `PromptTokensDetailsWrapper` keeps the two in step), else Anthropic's
  top-level `cache_creation_input_tokens`. With `cache_creation_token_details`, 5m (and 30m) writes bill at
  `cache_creation_input_token_cost`, 1h writes at `cache_creation_input_token_cost_above_1hr` (12h at
  `..._above_12hr`), each missing rate falling back to the write rate, and writes no TTL count covers at the write
  rate. A split without a write count (`cache_write_ttl_without_count`) bills the split on top of a prompt that is
  not reduced by it (the written tokens are billed twice).

Provider detection (`get_llm_provider`):
* Prefix split on the first `/`, case-sensitive (`OpenAI/gpt-4o` fails, `openai//gpt-4o` -> `/gpt-4o`,
  `openai/` -> `""`); `anthropic/claude-2` -> `anthropic_text`; `azure/mistral-large-latest` -> (`azure/...`, openai);
  `openrouter/x/y` -> (`x/y`, openrouter); `bedrock/converse/...` and `bedrock/invoke/...` keep the route segment;
  `*-latest` aliases are resolved in the returned model (`claude-sonnet-latest` -> `claude-sonnet-5-5`,
  `bedrock/claude-opus-latest` -> `global.anthropic.claude-opus-5-5`), under the provider they are requested
  through; `bedrock_mantle/<region>/<model>` drops a region path (`split_mantle_region_prefix`), not another
  segment; a JSON-configured provider's prefix is removed from nested names (`crusoe/openai/gpt-oss-120b` ->
  `openai/gpt-oss-120b`); `ai21/<chat row>` -> `ai21_chat`; `bedrock_converse/...` raises (not in
  `provider_list`) while `custom_llm_provider="bedrock_converse"` answers `bedrock_converse/<model>`;
  `ragflow/<model>` raises unless it is `ragflow/chat|agent/<id>/<model>`;
  unmapped `claude-<family>-<N>` -> anthropic and `[geo.]anthropic.claude-*` -> bedrock via the routing rules;
  bare `gemini-2.5-pro` -> vertex_ai; whitespace, upper case and empty names fail.
* api_base detection matches hostname + path prefix of `litellm.openai_compatible_endpoints`, host case-insensitive,
  scheme optional, port ignored; lookalike hosts and paths don't match. Several known endpoints return provider
  `null` (x.ai, api.studio.nebius.ai, sambanova, moonshot, api.llama.com, dashscope, clarifai, featherless,
  galadriel, morph, nscale): reproduce as "unresolved" or document the difference. `https://api.deepseek.com` and
  `https://api.mistral.ai` without `/v1`, cerebras, localhost (ollama / LM Studio ports) and unknown hosts raise.

Capabilities (`supports_*`):
* Not just the row flag. True also comes from: provider-wide rules (fireworks_ai: prompt_caching,
  function_calling, response_schema for every row; response_schema for databricks, nebius, lm_studio, predibase),
  `fill_missing_for_providers` fallback rules (Claude family ids under anthropic/bedrock/vertex/azure_ai get
  parallel_function_calling, system_messages, ...), and the bare-model twin row (`kyma/claude-fable-5` inherits
  `claude-fable-5`'s flags). False despite a true flag when the resolved provider differs from the row's
  (`gemini-2.5-flash-native-audio-*` bare names resolve to vertex_ai; `jamba-*` to ai21_chat).
* Environment-dependent: `supports_response_schema` calls `get_llm_provider` first, which for github_copilot/ and
  chatgpt/ runs an OAuth device flow; offline it fails, so those rows read False here although the row says
  true. The other `supports_*` avoid the flow (`declared_authenticating_provider`).

`get_supported_openai_params`: returns duplicates for azure (30 entries, 28 distinct) and litellm_proxy (78 / 45);
the file stores the sorted de-duplicated list. `null` for unresolvable names and unknown providers.

No NaN or infinite number was produced by any call.
"""


if __name__ == "__main__":
    main()
