// lm-evaluation-harness's scoring, ported line by line from its source (revision 4e7e0d47,
// github.com/EleutherAI/lm-evaluation-harness) — independently of qbench's own src/scoring code —
// and run on stories260K through the llama.cpp runner's plain `tokenize` and whole-sequence
// `evaluate` (not scoreChoices). `lmEvalReference(client, root)` computes the whole reference:
// multiple_choice (HellaSwag and WinoGrande forms: encodePair, loglikelihoodTokens,
// process_results, acc_mutual_info), left truncation, loglikelihood (LAMBADA form) and
// loglikelihood_rolling. scripts/make-lm-eval-reference.mjs writes it as the committed record
// test/fixtures/choices/lm-eval-stories260K-f32.json; test/orchestrator/choices-lm-eval.test.ts
// computes it live on the machine and runner binary it runs on (log-probs depend on the CPU the
// prebuilt engine runs on) and checks qbench against it. `client` is a started runner's client
// (anything with `request(method, params)`); this module imports nothing of qbench.
import { readFileSync } from "node:fs";
import { join } from "node:path";

// numpy.argmax: the first maximum.
export const npArgmax = (xs) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

// lm_eval/utils.py get_rolling_token_windows + make_disjoint_window, as HFLM.loglikelihood_rolling
// calls them: token_list = tok_encode(string) (BOS included by the tokenizer's default),
// prefix_token = prefix_token_id (BOS), max_seq_len = max_length, context_len = 1.
export function* getRollingTokenWindows(tokenList, prefixToken, maxSeqLen, contextLen) {
  if (!(1 <= contextLen && contextLen <= maxSeqLen)) throw new Error("assert");
  if (tokenList.length === 0) return;
  const predLen = maxSeqLen - contextLen + 1;
  let predicted = 0;
  const firstSeqLen = Math.min(maxSeqLen, tokenList.length);
  yield [[prefixToken, ...tokenList.slice(0, firstSeqLen - 1)], tokenList.slice(0, firstSeqLen)];
  predicted += firstSeqLen;
  while (predicted < tokenList.length) {
    const windowPredLen = Math.min(tokenList.length - predicted, predLen);
    const windowEnd = predicted + windowPredLen;
    // token_list[window_end - max_seq_len - 1 : window_end - 1]: a negative start counts from the end.
    const start = windowEnd - maxSeqLen - 1;
    yield [
      tokenList.slice(start < 0 ? Math.max(0, tokenList.length + start) : start, windowEnd - 1),
      tokenList.slice(windowEnd - windowPredLen, windowEnd),
    ];
    predicted += windowPredLen;
  }
}
export const makeDisjointWindow = ([a, b]) => [a.slice(0, a.length - (b.length - 1)), b];
/** The reference figures, with the loglikelihood data it derives from test/fixtures/ppl/stories.txt. */
export async function lmEvalReference(client, root) {
  const dir = join(root, "test/fixtures/choices");
  // lm_eval/models/huggingface.py tok_encode: add_special_tokens left to the tokenizer's default
  // (_add_special_kwargs(None, None) == {}), which for a Llama tokenizer prepends BOS — llama.cpp's
  // add_bos, what the runner's tokenize does with addBos: true.
  const tokEncode = async (string) =>
    (await client.request("tokenize", { text: string, addBos: true })).tokens;

  // lm_eval/api/model.py TemplateLM._encode_pair
  async function encodePair(context, continuation) {
    if (!context) throw new Error("Context cannot be empty!");
    // n_spaces = len(context) - len(context.rstrip())
    const nSpaces = context.length - context.replace(/\s+$/u, "").length;
    if (nSpaces > 0) {
      continuation = context.slice(-nSpaces) + continuation; // context[-n_spaces:] + continuation
      context = context.slice(0, -nSpaces); // context[:-n_spaces]
    }
    const wholeEnc = await tokEncode(context + continuation);
    const contextEnc = await tokEncode(context);
    const contextEncLen = contextEnc.length;
    const continuationEnc = wholeEnc.slice(contextEncLen); // whole_enc[context_enc_len:]
    return [contextEnc, continuationEnc];
  }

  // lm_eval/models/huggingface.py HFLM._loglikelihood_tokens, one request: inp = (context_enc +
  // continuation_enc)[:-1] (it fits: no left truncation); log_softmax over the logits; the
  // continuation's slice; greedy_tokens = argmax; max_equal; answer = (sum of logprobs, max_equal).
  async function loglikelihoodTokens(contextEnc, continuationEnc) {
    const tokens = [...contextEnc, ...continuationEnc];
    const out = await client.request("evaluate", { tokens, scoreFrom: contextEnc.length, topK: 1 });
    const logits = out.scored.map((s) => s.logprob);
    const greedyTokens = out.scored.map((s) => s.top[0][0]);
    const maxEqual = greedyTokens.every((t, i) => t === continuationEnc[i]);
    return [logits.reduce((a, b) => a + b, 0), maxEqual];
  }

  // lm_eval/api/model.py TemplateLM.loglikelihood, an empty context (lines 430-440):
  // continuation_enc = tok_encode(continuation, add_special_tokens=False); context_enc =
  // [prefix_token_id] (BOS: huggingface.py prefix_token_id) unless the continuation starts with it.
  const prefixTokenId = (await client.request("tokenize", { text: "", addBos: true })).tokens[0];
  async function encodeEmptyContext(continuation) {
    const continuationEnc = (
      await client.request("tokenize", { text: continuation, addBos: false })
    ).tokens;
    return prefixTokenId !== continuationEnc[0]
      ? [[prefixTokenId], continuationEnc]
      : [continuationEnc.slice(0, 1), continuationEnc.slice(1)];
  }

  // lm_eval/api/task.py ConfigurableTask.construct_requests (multiple_choice) + process_results.
  async function scoreDoc({ contexts, target, choices, gold, targetDelimiter = " " }) {
    // multiple_input: [(context, f"{target_delimiter}{cont}") for context in ctx];
    // else: [(ctx, f"{target_delimiter}{cont}") for cont in choices]
    const args =
      target === undefined
        ? choices.map((cont) => [contexts[0], `${targetDelimiter}${cont}`])
        : contexts.map((context) => [context, `${targetDelimiter}${target}`]);
    const requests = [];
    for (const [context, continuation] of args) {
      const [contextEnc, continuationEnc] = await encodePair(context, continuation);
      const [ll, isGreedy] = await loglikelihoodTokens(contextEnc, continuationEnc);
      requests.push({
        context_enc: contextEnc,
        continuation_enc: continuationEnc,
        ll,
        is_greedy: isGreedy,
      });
    }
    // acc_mutual_info (task.py lines 1393-1405): aux_arguments = [("", f"{target_delimiter}{choice}")
    // for choice in choices], choices = doc_to_choice (for a multiple_input task, the contexts).
    const unconditional = [];
    for (const choice of choices) {
      const [contextEnc, continuationEnc] = await encodeEmptyContext(`${targetDelimiter}${choice}`);
      const [ll] = await loglikelihoodTokens(contextEnc, continuationEnc);
      unconditional.push({ context_enc: contextEnc, continuation_enc: continuationEnc, ll });
    }
    const lls = requests.map((r) => r.ll);
    // lls_mutual_info = [ll_c - ll_u for ll_c, ll_u in zip(lls, lls_unconditional)] (lines 1570-1576)
    const llsMutualInfo = lls.map((llC, i) => llC - unconditional[i].ll);
    const predMutualInfo = npArgmax(llsMutualInfo);
    // completion_len = np.array([float(len(i)) for i in choices]); Python len counts code points.
    const completionLen = choices.map((c) => [...c].length);
    const byteLength = choices.map((c) => Buffer.byteLength(c, "utf8"));
    const pred = npArgmax(lls);
    const predNorm = npArgmax(lls.map((ll, i) => ll / completionLen[i]));
    const predByte = npArgmax(lls.map((ll, i) => ll / byteLength[i]));
    return {
      requests,
      unconditional,
      pred,
      pred_norm: predNorm,
      pred_byte: predByte,
      acc: pred === gold ? 1.0 : 0.0,
      acc_norm: predNorm === gold ? 1.0 : 0.0,
      acc_bytes: predByte === gold ? 1.0 : 0.0,
      pred_mutual_info: predMutualInfo,
      acc_mutual_info: predMutualInfo === gold ? 1.0 : 0.0,
    };
  }

  const readJsonl = (name) =>
    readFileSync(join(dir, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  const result = {
    model: "stories260K-f32",
    lm_eval_revision: "4e7e0d47f33bc71070c1d38394bafbb52b117163",
  };
  // HellaSwag form: doc_to_text = ctx, doc_to_choice = endings, doc_to_target = label.
  result.hellaswag = [];
  for (const doc of readJsonl("hellaswag.jsonl")) {
    const scored = await scoreDoc({ contexts: [doc.ctx], choices: doc.endings, gold: doc.label });
    result.hellaswag.push({ id: doc.id, ...scored });
  }
  // WinoGrande form: lm_eval/tasks/winogrande/preprocess_winogrande.py, a multiple_input task.
  result.winogrande = [];
  for (const doc of readJsonl("winogrande.jsonl")) {
    const idx = doc.sentence.indexOf("_");
    const target = doc.sentence.slice(idx + 1).trim(); // doc_to_target
    const choices = [doc.option1, doc.option2].map((opt) => doc.sentence.slice(0, idx) + opt); // doc_to_choice
    const scored = await scoreDoc({ contexts: choices, target, choices, gold: doc.answer });
    result.winogrande.push({ id: doc.id, ...scored });
  }
  // loglikelihood (lm_eval/tasks/lambada: doc_to_text = all but the last word, doc_to_target =
  // " " + the last word), on the first sentences of test/fixtures/ppl/stories.txt's paragraphs;
  // loglikelihood_rolling on its first six paragraphs, at max_length 64 so documents roll.
  const paragraphs = readFileSync(join(root, "test/fixtures/ppl/stories.txt"), "utf8")
    .split("\n")
    .filter((p) => p.trim() !== "");
  const lambada = paragraphs.map((p, i) => {
    const words = p
      .split(". ")
      .slice(0, 2)
      .join(". ")
      .replace(/[.!?"]+$/, "")
      .split(" ");
    // doc_to_text: all but the last word; doc_to_target: " " + the last word.
    return {
      id: `ll-${String(i + 1).padStart(2, "0")}`,
      context: words.slice(0, -1).join(" "),
      target: ` ${words.at(-1)}`,
    };
  });
  const rolling = paragraphs.slice(0, 6).map((text, i) => ({ id: `doc-${i + 1}`, text }));

  // lm_eval/api/model.py TemplateLM.loglikelihood: a non-empty context goes through _encode_pair.
  result.loglikelihood = [];
  for (const doc of lambada) {
    const [contextEnc, continuationEnc] = await encodePair(doc.context, doc.target);
    const [ll, isGreedy] = await loglikelihoodTokens(contextEnc, continuationEnc);
    // process_results (loglikelihood): {"perplexity": ll, "acc": int(is_greedy)}
    result.loglikelihood.push({
      id: doc.id,
      continuation_enc: continuationEnc,
      perplexity: ll,
      acc: isGreedy ? 1 : 0,
    });
  }
  // aggregation perplexity: math.exp(-mean(items)); acc: mean.
  const lls = result.loglikelihood.map((d) => d.perplexity);
  result.loglikelihood_mean = {
    perplexity: Math.exp(-(lls.reduce((a, b) => a + b, 0) / lls.length)),
    acc: result.loglikelihood.reduce((s, d) => s + d.acc, 0) / lls.length,
  };

  const MAX_LENGTH = 64;
  const bos = (await client.request("tokenize", { text: "", addBos: true })).tokens[0];
  result.rolling = [];
  for (const doc of rolling) {
    let loglikelihood = 0;
    const windows = [];
    for (const window of getRollingTokenWindows(await tokEncode(doc.text), bos, MAX_LENGTH, 1)) {
      const [context, continuation] = makeDisjointWindow(window);
      const [ll] = await loglikelihoodTokens(context, continuation);
      loglikelihood += ll;
      windows.push([context.length, continuation.length]);
    }
    // count_words: len(re.split(r"\s+", doc)); count_bytes: len(doc.encode("utf-8"))
    const words = doc.text.split(/\s+/u).length;
    const bytes = Buffer.byteLength(doc.text, "utf8");
    result.rolling.push({ id: doc.id, loglikelihood, words, bytes, windows });
  }
  // weighted_perplexity: exp(-sum(ll)/sum(n)); bits_per_byte: -sum(ll)/sum(bytes)/ln 2.
  const sum = (k) => result.rolling.reduce((s, d) => s + d[k], 0);
  result.rolling_mean = {
    word_perplexity: Math.exp(-sum("loglikelihood") / sum("words")),
    byte_perplexity: Math.exp(-sum("loglikelihood") / sum("bytes")),
    bits_per_byte: -sum("loglikelihood") / sum("bytes") / Math.log(2),
    max_length: MAX_LENGTH,
  };

  // Left truncation (HFLM._loglikelihood_tokens): inp = (context_enc + continuation_enc)
  // [-(self.max_length + 1):][:-1], the continuation's logits the last len(continuation_enc) ones;
  // HellaSwag form at max_length 32, so most contexts are cut.
  const TRUNCATE_AT = 32;
  result.hellaswag_truncated = { max_length: TRUNCATE_AT, docs: [] };
  for (const doc of readJsonl("hellaswag.jsonl")) {
    const lls = [];
    let truncated = false;
    for (const cont of doc.endings) {
      const [contextEnc, continuationEnc] = await encodePair(doc.ctx, ` ${cont}`);
      if (continuationEnc.length > TRUNCATE_AT) throw new Error(`${doc.id}: continuation too long`);
      const whole = [...contextEnc, ...continuationEnc];
      const kept = whole.slice(Math.max(0, whole.length - (TRUNCATE_AT + 1)));
      truncated ||= kept.length < whole.length;
      const from = kept.length - continuationEnc.length;
      const [ll] = await loglikelihoodTokens(kept.slice(0, from), continuationEnc);
      lls.push(ll);
    }
    const pred = npArgmax(lls);
    result.hellaswag_truncated.docs.push({
      id: doc.id,
      lls,
      pred,
      acc: pred === doc.label ? 1 : 0,
      truncated,
    });
  }

  for (const task of ["hellaswag", "winogrande"]) {
    const docs = result[task];
    const mean = (k) => docs.reduce((s, d) => s + d[k], 0) / docs.length;
    result[`${task}_mean`] = {
      acc: mean("acc"),
      acc_norm: mean("acc_norm"),
      acc_bytes: mean("acc_bytes"),
      acc_mutual_info: mean("acc_mutual_info"),
    };
  }
  return { result, lambada, rolling };
}
