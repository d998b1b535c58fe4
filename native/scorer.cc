// The native scorer: scores evaluation windows on node-llama-cpp's loaded model in C++.
//
// It reads node-llama-cpp's own AddonModel and AddonContext objects (compiled against that
// version's headers), makes its own llama_context with the same parameters, decodes a window
// as node-llama-cpp's controlledEvaluate does (same batch shape, same chunking) and reduces each
// scored position as node-llama-cpp's SampleToken does (same float sums, in the same order), so
// the figures are identical to the JavaScript path's; only the per-position work moves out of
// JavaScript and runs on several threads.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

#include "AddonContext.h"
#include "AddonModel.h"
#include "llama.h"

#ifndef QBENCH_NODE_LLAMA_CPP_VERSION
#error "QBENCH_NODE_LLAMA_CPP_VERSION must name the node-llama-cpp version compiled against"
#endif

namespace {

template <typename T>
T* unwrap(Napi::Env env, Napi::Value value, const char* what) {
    if (!value.IsObject()) {
        Napi::TypeError::New(env, std::string(what) + " must be node-llama-cpp's addon object").ThrowAsJavaScriptException();
        return nullptr;
    }
    void* raw = nullptr;
    if (napi_unwrap(env, value, &raw) != napi_ok || raw == nullptr) {
        Napi::TypeError::New(env, std::string(what) + " is not a wrapped node-llama-cpp object").ThrowAsJavaScriptException();
        return nullptr;
    }
    return static_cast<T*>(static_cast<Napi::ObjectWrap<T>*>(raw));
}

/** One window's part of a packed request: where its tokens and scored positions lie. */
struct Window {
    int32_t tokenStart = 0;
    int32_t tokenCount = 0;
    int32_t scoreFrom = 1;
    int32_t decodeCount = 0;
    int32_t topK = 0;
    int32_t sequence = 0;
    int32_t firstScored = 0;  // index of its first scored position among all windows'
};

/** A token of a decode whose logits are read: its window, its position there, its batch index. */
struct Scored {
    const Window* window;
    int32_t position;
    int32_t batchIndex;
};

/** A position to reduce: its logits row, its index among the scored positions, the token scored. */
struct Job {
    const float* row;
    int32_t index;
    int32_t next;
    int32_t topK;
};

/**
 * Mode::Grid's levels: tens of MB a window at 128k tokens, written once by GridRows and then owned
 * by the Uint16Array JavaScript gets (no copy, no zero fill). Huge pages where the kernel gives
 * them: in a VM every 4 KiB first touch is a costly fault.
 */
struct LevelBuffer {
    uint16_t* data = nullptr;
    size_t size = 0;

    LevelBuffer() = default;
    LevelBuffer(const LevelBuffer&) = delete;
    LevelBuffer& operator=(const LevelBuffer&) = delete;
    ~LevelBuffer() { std::free(data); }

    static constexpr size_t kHuge = size_t{2} << 20;
    static size_t BytesFor(size_t count) { return (count * sizeof(uint16_t) + kHuge - 1) / kHuge * kHuge; }

    bool Allocate(size_t count) {
        std::free(data);
        size = 0;
        const size_t bytes = BytesFor(std::max<size_t>(count, 1));
        data = static_cast<uint16_t*>(std::aligned_alloc(kHuge, bytes));
        if (data == nullptr) return false;
        madvise(data, bytes, MADV_HUGEPAGE);
        size = count;
        return true;
    }
    /** Gives up the memory (to a JavaScript ArrayBuffer, which frees it). */
    uint16_t* Release() {
        uint16_t* out = data;
        data = nullptr;
        size = 0;
        return out;
    }
};

/** What the JavaScript side needs to finish a position exactly as it does for node-llama-cpp. */
struct Outputs {
    std::vector<float> max;       // the maximum logit
    std::vector<float> weight;    // Σ exp(logit − max), summed in float as SampleToken sums it
    std::vector<float> actual;    // the actual next token's logit
    std::vector<int32_t> topIds;  // topK ids per position (window's topK, packed)
    std::vector<float> topLogits;
    std::vector<float> targets;   // one per target id (NaN where the id is outside the vocabulary)
    std::vector<int32_t> topOffsets;  // where each position's top entries start
    // Mode::Grid: each position's log-softmax on llama-perplexity's 16-bit grid (full-kld.ts's toGrid)
    LevelBuffer levels;               // nVocab per position; handed to JavaScript without a copy
    std::vector<float> scale;
    std::vector<float> minLogprob;
    std::vector<double> targetLogprob;
    // Mode::Kld: against a reference's grid (full-kld.ts's kldAgainstGrid)
    std::vector<double> kld;
    std::vector<uint8_t> sameTop;
    std::vector<double> logprob;
    // Mode::Greedy: the tokens picked, one per step
    std::vector<int32_t> picked;
};

/** What a decode's scored rows become. */
enum class Mode : int32_t { Reduce = 0, Grid = 1, Kld = 2, Greedy = 3 };

/** A reference's grids, one per scored position (Mode::Kld's input). */
struct Grids {
    // The caller's Uint16Array, read in place (the worker keeps it referenced until it ends).
    const uint16_t* levels = nullptr;
    size_t levelCount = 0;
    std::vector<float> scale;
    std::vector<float> minLogprob;
};

/**
 * full-kld.ts's toGrid for one row, in the same double arithmetic and order (a float where it
 * rounds with Math.fround): llama-perplexity's log_softmax of the base pass.
 */
void GridOf(const float* logits, int32_t n, int32_t target, uint16_t* levels, float& scale,
            float& minLogprob, double& targetLogprob) {
    double max = logits[0];
    double min = max;
    for (int32_t i = 1; i < n; i++) {
        const double v = logits[i];
        if (v > max) max = v;
        if (v < min) min = v;
    }
    min = std::max(min, max - 16);
    double sumExp = 0;
    for (int32_t i = 0; i < n; i++) sumExp += std::exp(static_cast<double>(logits[i]) - max);
    const double logSumExp = std::log(sumExp);
    minLogprob = static_cast<float>(min - max - logSumExp);
    scale = static_cast<float>((max - min) / 65535);
    if (scale > 0) {
        const double inverse = static_cast<float>(1 / static_cast<double>(scale));
        for (int32_t i = 0; i < n; i++) {
            const double v = logits[i];
            levels[i] = v > min ? static_cast<uint16_t>(std::floor(
                                      static_cast<double>(static_cast<float>(inverse * static_cast<float>(v - min))) + 0.5))
                                : 0;
        }
    } else {
        std::fill(levels, levels + n, 0);
    }
    targetLogprob = static_cast<double>(logits[target]) - max - logSumExp;
}

/** full-kld.ts's kldAgainstGrid for one row: llama-perplexity's log_softmax of the KLD pass. */
void KldOf(const float* logits, int32_t n, int32_t target, const uint16_t* levels, float scale,
           float minLogprob, double& kld, uint8_t& sameTop, double& logprob) {
    double max = logits[0];
    int32_t top = 0;
    for (int32_t i = 1; i < n; i++) {
        if (logits[i] > max) {
            max = logits[i];
            top = i;
        }
    }
    double sumExp = 0;
    for (int32_t i = 0; i < n; i++) sumExp += std::exp(static_cast<double>(logits[i]) - max);
    const double logZ = max + std::log(sumExp);
    double sum = 0;
    int32_t referenceTop = 0;
    double referenceMax = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        const double lp = static_cast<float>(static_cast<double>(scale) * levels[i] + static_cast<double>(minLogprob));
        if (lp > referenceMax) {
            referenceMax = lp;
            referenceTop = i;
        }
        if (lp > -16) sum += std::exp(lp) * (lp - static_cast<double>(logits[i]) + logZ);
    }
    kld = sum;
    sameTop = top == referenceTop ? 1 : 0;
    logprob = static_cast<double>(logits[target]) - logZ;
}

/**
 * The greedy sampler's pick: the first maximum in id order. Eight running maxima (independent,
 * so the loop is not one chain of dependent compares: at 128k logits that chain cost 0.5 ms a
 * token), then the first id that holds the largest.
 */
int32_t ArgmaxOf(const float* logits, int32_t n) {
    constexpr int32_t kLanes = 8;
    float lanes[kLanes];
    for (float& lane : lanes) lane = logits[0];
    int32_t id = 0;
    for (; id + kLanes <= n; id += kLanes) {
        for (int32_t k = 0; k < kLanes; k++) lanes[k] = lanes[k] < logits[id + k] ? logits[id + k] : lanes[k];
    }
    float best = lanes[0];
    for (const float lane : lanes) best = best < lane ? lane : best;
    for (; id < n; id++) best = best < logits[id] ? logits[id] : best;
    for (id = 0; id < n; id++) {
        if (logits[id] == best) return id;
    }
    return 0;
}

class Scorer : public Napi::ObjectWrap<Scorer> {
   public:
    static Napi::Object Init(Napi::Env env, Napi::Object exports) {
        Napi::Function cls = DefineClass(env, "Scorer", {
            InstanceMethod("score", &Scorer::Score),
            InstanceMethod("choices", &Scorer::Choices),
            InstanceMethod("greedy", &Scorer::Greedy),
            InstanceMethod("dispose", &Scorer::Dispose),
            InstanceAccessor("vocabularySize", &Scorer::VocabularySize, nullptr),
        });
        exports.Set("Scorer", cls);
        exports.Set("nodeLlamaCppVersion", Napi::String::New(env, QBENCH_NODE_LLAMA_CPP_VERSION));
        return exports;
    }

    // new Scorer(model._model, context._ctx, modelPath[, shared]): a context with that context's
    // parameters, or with `shared` = {sequences, contextSize}: one unified KV cache of contextSize
    // cells for that many sequences, as llama-perplexity makes for --hellaswag and --winogrande
    // (a shared prefix is one set of cells in every sequence; `choices` decodes on it).
    Scorer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Scorer>(info) {
        Napi::Env env = info.Env();
        if (info.Length() < 3 || !info[2].IsString()) {
            Napi::TypeError::New(env, "Scorer(model, context, modelPath[, shared])").ThrowAsJavaScriptException();
            return;
        }
        AddonModel* model = unwrap<AddonModel>(env, info[0], "model");
        if (model == nullptr) return;
        AddonContext* context = unwrap<AddonContext>(env, info[1], "context");
        if (context == nullptr) return;
        const std::string path = info[2].As<Napi::String>().Utf8Value();
        // Layout checks behind the version check: fields read at the wrong offsets fail these.
        if (model->modelPath != path || model->model == nullptr ||
            model->vocab != llama_model_get_vocab(model->model) || context->model != model ||
            context->ctx == nullptr || llama_get_model(context->ctx) != model->model) {
            Napi::Error::New(env, "node-llama-cpp's objects do not have the layout the native scorer was compiled against").ThrowAsJavaScriptException();
            return;
        }
        llama_context_params params = context->context_params;
        params.n_threads = llama_n_threads(context->ctx);
        params.n_threads_batch = llama_n_threads_batch(context->ctx);
        if (info.Length() > 3 && info[3].IsObject()) {
            Napi::Object shared = info[3].As<Napi::Object>();
            const Napi::Value sequences = shared.Get("sequences");
            const Napi::Value size = shared.Get("contextSize");
            if (!sequences.IsNumber() || !size.IsNumber() || sequences.As<Napi::Number>().Int32Value() < 1 ||
                size.As<Napi::Number>().Int32Value() < 1) {
                Napi::TypeError::New(env, "shared must be {sequences, contextSize}, both positive").ThrowAsJavaScriptException();
                return;
            }
            params.n_seq_max = sequences.As<Napi::Number>().Uint32Value();
            params.n_ctx = size.As<Napi::Number>().Uint32Value();
            params.n_batch = params.n_ctx;
            // llama-perplexity's physical batch (common_params' n_ubatch default).
            params.n_ubatch = std::min<uint32_t>(512, params.n_ctx);
            params.kv_unified = true;
        }
        ctx_ = llama_init_from_model(model->model, params);
        if (ctx_ == nullptr) {
            Napi::Error::New(env, "llama_init_from_model failed for the native scorer's context").ThrowAsJavaScriptException();
            return;
        }
        nVocab_ = llama_vocab_n_tokens(model->vocab);
        nBatch_ = llama_n_batch(ctx_);
        nSeq_ = llama_n_seq_max(ctx_);
        batch_ = llama_batch_init(static_cast<int32_t>(nBatch_), 0, static_cast<int32_t>(nSeq_));
        // As llama-perplexity: the log-softmax runs on all cores, whatever the decode's threads.
        reduceThreads_ = std::max(1u, std::thread::hardware_concurrency());
        modelRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    }

    ~Scorer() override { Free(); }

    /** Decodes each window's tokens in chunks of `chunk`, reducing its scored positions into `out`. */
    std::string Run(const std::vector<int32_t>& tokens, const std::vector<Window>& windows,
                    const std::vector<int32_t>& targetIds, const std::vector<int32_t>& targetOffsets,
                    int32_t chunk, Mode mode, const Grids* grids, Outputs& out) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ctx_ == nullptr) return "the native scorer is disposed";
        llama_memory_clear(llama_get_memory(ctx_), true);
        nPast_ = -1;
        // Each window in its own sequence; one batch holds up to `chunk` tokens per window, and
        // all windows' chunks at one offset go in one decode (one window: controlledEvaluate's
        // batches of batchSize tokens).
        int32_t longest = 0;
        for (const Window& w : windows) longest = std::max(longest, LastDecoded(w) + 1);
        for (int32_t offset = 0; offset < longest; offset += chunk) {
            batch_.n_tokens = 0;
            std::vector<Scored> scored;  // the flagged tokens, in batch order
            for (const Window& w : windows) {
                const int32_t end = std::min(LastDecoded(w) + 1, offset + chunk);
                for (int32_t p = offset; p < end; p++) {
                    if (batch_.n_tokens >= static_cast<int32_t>(nBatch_)) return "a batch exceeds the scorer's batch size";
                    const int32_t i = batch_.n_tokens++;
                    const bool wanted = p >= w.scoreFrom - 1 && p < w.tokenCount - 1;
                    batch_.token[i] = tokens[w.tokenStart + p];
                    batch_.pos[i] = p;
                    batch_.n_seq_id[i] = 1;
                    batch_.seq_id[i][0] = w.sequence;
                    batch_.logits[i] = wanted;
                    if (wanted) scored.push_back(Scored{&w, p, i});
                }
            }
            if (batch_.n_tokens == 0) continue;
            const int32_t status = llama_decode(ctx_, batch_);
            if (status != 0) return "llama_decode failed with status " + std::to_string(status);
            std::string error;
            switch (mode) {
                case Mode::Grid:
                case Mode::Kld: error = GridRows(scored, tokens, mode, grids, out); break;
                default: error = Reduce(scored, tokens, targetIds, targetOffsets, out);
            }
            if (!error.empty()) return error;
        }
        return "";
    }

    /**
     * Scores the continuations of one context as llama-perplexity's hellaswag_score decodes a task:
     * one batch, the context's tokens in every continuation's sequence (one set of cells of the
     * unified KV cache) with logits at its last token only, then each continuation whole in its
     * own sequence with logits at all but its last token. Position k of `out` is continuation
     * token k's (`offsets` delimits each continuation): topK 1, so its argmax is the greedy pick.
     */
    std::string RunChoices(const std::vector<int32_t>& context, const std::vector<int32_t>& continuations,
                           const std::vector<int32_t>& offsets, Outputs& out) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ctx_ == nullptr) return "the native scorer is disposed";
        llama_memory_clear(llama_get_memory(ctx_), true);
        nPast_ = -1;
        const int32_t count = static_cast<int32_t>(offsets.size()) - 1;
        const int32_t length = static_cast<int32_t>(context.size());
        batch_.n_tokens = 0;
        for (int32_t p = 0; p < length; p++) {
            const int32_t i = batch_.n_tokens++;
            batch_.token[i] = context[p];
            batch_.pos[i] = p;
            batch_.n_seq_id[i] = count;
            for (int32_t s = 0; s < count; s++) batch_.seq_id[i][s] = s;
            batch_.logits[i] = p == length - 1;
        }
        for (int32_t c = 0; c < count; c++) {
            for (int32_t j = offsets[c]; j < offsets[c + 1]; j++) {
                const int32_t i = batch_.n_tokens++;
                batch_.token[i] = continuations[j];
                batch_.pos[i] = length + (j - offsets[c]);
                batch_.n_seq_id[i] = 1;
                batch_.seq_id[i][0] = c;
                batch_.logits[i] = j < offsets[c + 1] - 1;
            }
        }
        const int32_t status = llama_decode(ctx_, batch_);
        if (status != 0) return "llama_decode failed with status " + std::to_string(status);
        const float* last = llama_get_logits_ith(ctx_, length - 1);
        if (last == nullptr) return "no logits for the context's last token";
        std::vector<Job> jobs;
        jobs.reserve(continuations.size());
        for (int32_t c = 0; c < count; c++) {
            jobs.push_back(Job{last, offsets[c], continuations[offsets[c]], 1});
            for (int32_t j = offsets[c]; j < offsets[c + 1] - 1; j++) {
                const float* row = llama_get_logits_ith(ctx_, length + j);
                if (row == nullptr) return "no logits for a continuation's token";
                jobs.push_back(Job{row, j + 1, continuations[j + 1], 1});
            }
        }
        const std::vector<int32_t> noTargets;
        const std::vector<int32_t> noTargetOffsets(continuations.size() + 1, 0);
        return ReduceJobs(jobs, noTargets, noTargetOffsets, out);
    }

    /**
     * Greedy decoding in sequence 0, as llama-bench's tg decodes: `tokens` (in batches of the
     * context's batch size) after a cleared cache where `clear`, else after what the last greedy
     * call left; then `steps` − 1 more decodes of one token each, every one the argmax of the
     * logits before it (llama.cpp's greedy sampler: the first maximum in id order). out.picked
     * holds the `steps` picks; the last pick is not decoded (the next call feeds it).
     */
    std::string RunGreedy(const std::vector<int32_t>& tokens, bool clear, int32_t steps, Outputs& out) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ctx_ == nullptr) return "the native scorer is disposed";
        if (clear) {
            llama_memory_clear(llama_get_memory(ctx_), true);
            nPast_ = 0;
        } else if (nPast_ < 0) {
            return "greedy decoding has nothing to continue from (another call used the context)";
        }
        const int64_t needed = static_cast<int64_t>(nPast_) + static_cast<int64_t>(tokens.size()) + steps - 1;
        if (needed > static_cast<int64_t>(llama_n_ctx(ctx_))) {
            nPast_ = -1;
            return std::to_string(needed) + " positions exceed the scorer's context of " + std::to_string(llama_n_ctx(ctx_));
        }
        const auto decode = [&](const int32_t* from, size_t count) -> std::string {
            for (size_t at = 0; at < count; at += nBatch_) {
                const size_t end = std::min(count, at + static_cast<size_t>(nBatch_));
                batch_.n_tokens = 0;
                for (size_t k = at; k < end; k++) {
                    const int32_t i = batch_.n_tokens++;
                    batch_.token[i] = from[k];
                    batch_.pos[i] = nPast_++;
                    batch_.n_seq_id[i] = 1;
                    batch_.seq_id[i][0] = 0;
                    batch_.logits[i] = k + 1 == count;
                }
                const int32_t status = llama_decode(ctx_, batch_);
                if (status != 0) {
                    nPast_ = -1;
                    return "llama_decode failed with status " + std::to_string(status);
                }
            }
            return "";
        };
        std::string error = decode(tokens.data(), tokens.size());
        if (!error.empty()) return error;
        out.picked.assign(static_cast<size_t>(steps), -1);
        for (int32_t step = 0; step < steps; step++) {
            const float* logits = llama_get_logits_ith(ctx_, -1);
            if (logits == nullptr) return "no logits for the last decoded token";
            int32_t argmax = ArgmaxOf(logits, nVocab_);
            out.picked[static_cast<size_t>(step)] = argmax;
            if (step + 1 == steps) break;
            error = decode(&argmax, 1);
            if (!error.empty()) return error;
        }
        return "";
    }

   private:
    llama_context* ctx_ = nullptr;
    /** Positions greedy decoding has filled in sequence 0; -1 once another call used the cache. */
    int32_t nPast_ = -1;
    llama_batch batch_{};
    int32_t nVocab_ = 0;
    uint32_t nBatch_ = 0;
    uint32_t nSeq_ = 1;
    unsigned reduceThreads_ = 1;
    std::mutex mutex_;
    Napi::ObjectReference modelRef_;

    /** Every token controlledEvaluate decodes is decoded: a batch's shape decides how the kernels round. */
    static int32_t LastDecoded(const Window& w) { return w.decodeCount - 1; }

    void Free() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ctx_ != nullptr) {
            llama_batch_free(batch_);
            llama_free(ctx_);
            ctx_ = nullptr;
        }
        if (!modelRef_.IsEmpty()) modelRef_.Reset();
    }

    /** Each scored row to its grid (Mode::Grid) or its KLD against `grids` (Mode::Kld), on all cores. */
    std::string GridRows(const std::vector<Scored>& scored, const std::vector<int32_t>& tokens, Mode mode,
                         const Grids* grids, Outputs& out) {
        const size_t n = scored.size();
        std::vector<const float*> rows(n);
        for (size_t k = 0; k < n; k++) {
            rows[k] = llama_get_logits_ith(ctx_, scored[k].batchIndex);
            if (rows[k] == nullptr) return "no logits for a scored position";
        }
        const size_t vocabulary = static_cast<size_t>(nVocab_);
        ParallelFor(n, [&](size_t k, unsigned) {
            const Window& w = *scored[k].window;
            const int32_t p = scored[k].position;
            const size_t index = static_cast<size_t>(w.firstScored + (p - (w.scoreFrom - 1)));
            const int32_t next = tokens[w.tokenStart + p + 1];
            if (mode == Mode::Grid) {
                GridOf(rows[k], nVocab_, next, out.levels.data + index * vocabulary, out.scale[index],
                       out.minLogprob[index], out.targetLogprob[index]);
            } else {
                KldOf(rows[k], nVocab_, next, grids->levels + index * vocabulary, grids->scale[index],
                      grids->minLogprob[index], out.kld[index], out.sameTop[index], out.logprob[index]);
            }
        });
        return "";
    }

    /**
     * `body(k, t)` for k in [0, n) on the reduce threads (t: the thread's index), handed out
     * kChunk at a time from one counter, as llama-perplexity's compute_logprobs hands out its
     * positions: on shared cores a thread that is descheduled takes fewer chunks instead of
     * holding the others up at the join (a fixed stride made every call wait for the slowest).
     */
    template <typename Body>
    void ParallelFor(size_t n, const Body& body) {
        constexpr size_t kChunk = 4;
        const unsigned threads =
            static_cast<unsigned>(std::min<size_t>(reduceThreads_, (n + kChunk - 1) / kChunk));
        std::atomic<size_t> next{0};
        auto work = [&](unsigned t) {
            for (;;) {
                const size_t first = next.fetch_add(kChunk, std::memory_order_relaxed);
                if (first >= n) return;
                const size_t last = std::min(n, first + kChunk);
                for (size_t k = first; k < last; k++) body(k, t);
            }
        };
        std::vector<std::thread> pool;
        for (unsigned t = 1; t < threads; t++) pool.emplace_back(work, t);
        if (threads > 0) work(0);
        for (auto& thread : pool) thread.join();
    }

    std::string Reduce(const std::vector<Scored>& scored,
                       const std::vector<int32_t>& tokens, const std::vector<int32_t>& targetIds,
                       const std::vector<int32_t>& targetOffsets, Outputs& out) {
        std::vector<Job> jobs(scored.size());
        for (size_t k = 0; k < scored.size(); k++) {
            const Window& w = *scored[k].window;
            const int32_t p = scored[k].position;
            const float* row = llama_get_logits_ith(ctx_, scored[k].batchIndex);
            if (row == nullptr) return "no logits for a scored position";
            jobs[k] = Job{row, w.firstScored + (p - (w.scoreFrom - 1)), tokens[w.tokenStart + p + 1], w.topK};
        }
        return ReduceJobs(jobs, targetIds, targetOffsets, out);
    }

    /** Reduces the positions on all cores, as llama-perplexity computes its log-softmax. */
    std::string ReduceJobs(const std::vector<Job>& jobs, const std::vector<int32_t>& targetIds,
                           const std::vector<int32_t>& targetOffsets, Outputs& out) {
        const size_t n = jobs.size();
        std::vector<std::string> errors(std::max(1u, reduceThreads_));
        std::vector<std::vector<llama_token_data>> sorted(errors.size());
        ParallelFor(n, [&](size_t k, unsigned t) {
            const Job& job = jobs[k];
            if (job.next < 0 || job.next >= nVocab_) {
                errors[t] = "token " + std::to_string(job.next) + " is outside the vocabulary";
                return;
            }
            ReducePosition(job.row, job.topK, job.index, job.next, targetIds, targetOffsets, sorted[t], out);
        });
        for (const auto& error : errors) {
            if (!error.empty()) return error;
        }
        return "";
    }

    /** SampleToken's figures for one position (AddonContext.cpp), in its order of summation. */
    void ReducePosition(const float* logits, int32_t topK, int32_t index, int32_t next,
                        const std::vector<int32_t>& targetIds, const std::vector<int32_t>& targetOffsets,
                        std::vector<llama_token_data>& sorted, Outputs& out) {
        float max = logits[0];
        float sum = 0.0f;
        const size_t topAt = static_cast<size_t>(out.topOffsets[index]);
        if (topK > 1) {
            // includeTop sorts the candidates (std::sort, this comparator) and sums in that order.
            sorted.resize(static_cast<size_t>(nVocab_));
            for (int32_t id = 0; id < nVocab_; id++) sorted[id] = llama_token_data{id, logits[id], 0.0f};
            std::sort(sorted.begin(), sorted.end(), [](const llama_token_data& a, const llama_token_data& b) {
                return a.logit > b.logit;
            });
            max = sorted[0].logit;
            for (int32_t i = 0; i < nVocab_; i++) sum += expf(sorted[i].logit - max);
            const int32_t count = std::min(topK, nVocab_);
            for (int32_t i = 0; i < count; i++) {
                out.topIds[topAt + i] = sorted[i].id;
                out.topLogits[topAt + i] = sorted[i].logit;
            }
        } else {
            // The greedy sampler's pick: the first maximum in id order.
            int32_t argmax = 0;
            for (int32_t id = 1; id < nVocab_; id++) {
                if (logits[id] > max) {
                    max = logits[id];
                    argmax = id;
                }
            }
            for (int32_t id = 0; id < nVocab_; id++) sum += expf(logits[id] - max);
            if (topK == 1) {
                out.topIds[topAt] = argmax;
                out.topLogits[topAt] = max;
            }
        }
        out.max[index] = max;
        out.weight[index] = sum;
        out.actual[index] = logits[next];
        for (int32_t t = targetOffsets[index]; t < targetOffsets[index + 1]; t++) {
            const int32_t id = targetIds[t];
            out.targets[t] = id >= 0 && id < nVocab_ ? logits[id] : NAN;
        }
    }

    Napi::Value Score(const Napi::CallbackInfo& info);
    Napi::Value Choices(const Napi::CallbackInfo& info);
    Napi::Value Greedy(const Napi::CallbackInfo& info);
    Napi::Value Dispose(const Napi::CallbackInfo& info) {
        Free();
        return info.Env().Undefined();
    }
    Napi::Value VocabularySize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nVocab_); }

    friend class ScoreWorker;
};

/** One score call off the main thread; the scorer stays referenced until it ends. */
class ScoreWorker : public Napi::AsyncWorker {
   public:
    /** `run` does the work off the main thread, into `outputs()`; it returns an error or "". */
    ScoreWorker(Napi::Env env, Scorer* scorer, std::function<std::string(Outputs&)> run, Mode mode)
        : Napi::AsyncWorker(env, "QbenchScoreWorker"),
          deferred_(Napi::Promise::Deferred::New(env)),
          scorer_(scorer),
          run_(std::move(run)),
          mode_(mode) {
        scorer_->Ref();
    }
    ~ScoreWorker() override { scorer_->Unref(); }

    Napi::Promise Promise() { return deferred_.Promise(); }
    Outputs& outputs() { return out_; }
    /** Keeps `value` (an input read in place off the main thread) alive until the worker ends. */
    void Keep(Napi::Object value) { kept_ = Napi::Persistent(value); }

   protected:
    void Execute() override {
        std::string error = run_(out_);
        if (!error.empty()) SetError(error);
    }
    void OnOK() override {
        Napi::Env env = Env();
        Napi::Object result = Napi::Object::New(env);
        result.Set("max", Copy<Napi::Float32Array>(env, out_.max));
        result.Set("weight", Copy<Napi::Float32Array>(env, out_.weight));
        result.Set("actual", Copy<Napi::Float32Array>(env, out_.actual));
        result.Set("topIds", Copy<Napi::Int32Array>(env, out_.topIds));
        result.Set("topLogits", Copy<Napi::Float32Array>(env, out_.topLogits));
        result.Set("targets", Copy<Napi::Float32Array>(env, out_.targets));
        if (mode_ == Mode::Grid) {
            const size_t count = out_.levels.size;
            const size_t bytes = LevelBuffer::BytesFor(std::max<size_t>(count, 1));
            Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
                env, out_.levels.Release(), bytes, [bytes](Napi::Env finalizing, void* data) {
                    std::free(data);
                    Napi::MemoryManagement::AdjustExternalMemory(finalizing, -static_cast<int64_t>(bytes));
                });
            // So that V8 collects these promptly: it does not see external memory otherwise.
            Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
            result.Set("levels", Napi::Uint16Array::New(env, count, buffer, 0));
            result.Set("scale", Copy<Napi::Float32Array>(env, out_.scale));
            result.Set("minLogprob", Copy<Napi::Float32Array>(env, out_.minLogprob));
            result.Set("targetLogprob", Copy<Napi::Float64Array>(env, out_.targetLogprob));
        }
        if (mode_ == Mode::Greedy) result.Set("picked", Copy<Napi::Int32Array>(env, out_.picked));
        if (mode_ == Mode::Kld) {
            result.Set("kld", Copy<Napi::Float64Array>(env, out_.kld));
            result.Set("sameTop", Copy<Napi::Uint8Array>(env, out_.sameTop));
            result.Set("logprob", Copy<Napi::Float64Array>(env, out_.logprob));
        }
        deferred_.Resolve(result);
    }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

   private:
    Napi::Promise::Deferred deferred_;
    Scorer* scorer_;
    std::function<std::string(Outputs&)> run_;
    Mode mode_;
    Outputs out_;
    Napi::ObjectReference kept_;

    template <typename Array, typename T>
    static Array Copy(Napi::Env env, const std::vector<T>& values) {
        Array array = Array::New(env, values.size());
        std::copy(values.begin(), values.end(), array.Data());
        return array;
    }
};

template <typename T>
constexpr napi_typedarray_type typeOf();
template <>
constexpr napi_typedarray_type typeOf<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type typeOf<uint16_t>() { return napi_uint16_array; }
template <>
constexpr napi_typedarray_type typeOf<float>() { return napi_float32_array; }

template <typename Array, typename T = typename std::remove_reference_t<decltype(*std::declval<Array>().Data())>>
bool readArray(const Napi::CallbackInfo& info, size_t i, std::vector<T>& into) {
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != typeOf<T>()) {
        Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " has the wrong typed-array type").ThrowAsJavaScriptException();
        return false;
    }
    Array array = info[i].As<Array>();
    into.assign(array.Data(), array.Data() + array.ElementLength());
    return true;
}

// score(tokens, windows, targetIds, targetOffsets, chunk, mode[, levels, scales, minLogprobs]):
// windows holds six numbers per window (tokenStart, tokenCount, scoreFrom, decodeCount, topK,
// sequence); targetOffsets has one entry per scored position plus one. Mode 0 reduces each scored
// position (max, weight, actual, top-K, targets); the others take no topK and no targets (exact
// KLD): 1 returns each scored position's log-softmax on llama-perplexity's grid (`levels`,
// `scale`, `minLogprob`, `targetLogprob`), 2 its KLD, same-top and log-prob against the grids
// given (a reference's mode-1 result for the same window, read in place).
Napi::Value Scorer::Score(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<int32_t> tokens, packed, targetIds, targetOffsets;
    if (!readArray<Napi::Int32Array>(info, 0, tokens) || !readArray<Napi::Int32Array>(info, 1, packed) ||
        !readArray<Napi::Int32Array>(info, 2, targetIds) || !readArray<Napi::Int32Array>(info, 3, targetOffsets)) {
        return env.Undefined();
    }
    const int32_t chunk = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
    const int32_t modeNumber = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
    if (modeNumber < 0 || modeNumber > 2) {
        Napi::RangeError::New(env, "mode must be 0 to 2").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    const Mode mode = static_cast<Mode>(modeNumber);
    const bool whole = mode != Mode::Reduce;
    auto grids = std::make_shared<Grids>();
    if (mode == Mode::Kld) {
        if (info.Length() <= 6 || !info[6].IsTypedArray() ||
            info[6].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
            Napi::TypeError::New(env, "argument 6 has the wrong typed-array type").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        Napi::Uint16Array levels = info[6].As<Napi::Uint16Array>();
        grids->levels = levels.Data();
        grids->levelCount = levels.ElementLength();
    }
    if (mode == Mode::Kld && (!readArray<Napi::Float32Array>(info, 7, grids->scale) ||
                              !readArray<Napi::Float32Array>(info, 8, grids->minLogprob))) {
        return env.Undefined();
    }
    const auto fail = [&](const std::string& message) {
        Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
        return env.Undefined();
    };
    if (ctx_ == nullptr) return fail("the native scorer is disposed");
    if (packed.empty() || packed.size() % 6 != 0) return fail("windows must hold six numbers per window");
    if (chunk < 1) return fail("chunk must be a positive number of tokens");
    std::vector<Window> windows(packed.size() / 6);
    int32_t scoredCount = 0;
    size_t chunkTokens = 0;
    for (size_t i = 0; i < windows.size(); i++) {
        Window& w = windows[i];
        w.tokenStart = packed[i * 6];
        w.tokenCount = packed[i * 6 + 1];
        w.scoreFrom = packed[i * 6 + 2];
        w.decodeCount = packed[i * 6 + 3];
        w.topK = packed[i * 6 + 4];
        w.sequence = packed[i * 6 + 5];
        if (w.tokenStart < 0 || w.tokenCount < 1 || static_cast<size_t>(w.tokenStart) + w.tokenCount > tokens.size() ||
            w.scoreFrom < 1 || w.scoreFrom > w.tokenCount || w.decodeCount < 0 || w.decodeCount > w.tokenCount ||
            w.decodeCount > static_cast<int32_t>(llama_n_ctx(ctx_) / nSeq_) || w.topK < 0 || w.sequence < 0 ||
            w.sequence >= static_cast<int32_t>(nSeq_)) {
            return fail("window " + std::to_string(i) + " is out of range");
        }
        for (int32_t p = 0; p < w.tokenCount; p++) {
            const int32_t token = tokens[w.tokenStart + p];
            if (token < 0 || token >= nVocab_) return fail("token " + std::to_string(token) + " is outside the vocabulary");
        }
        w.firstScored = scoredCount;
        scoredCount += w.tokenCount - w.scoreFrom;
        chunkTokens += static_cast<size_t>(std::min(chunk, w.decodeCount));
    }
    if (chunkTokens > nBatch_) return fail("one decode would exceed the scorer's batch size");
    if (targetOffsets.size() != static_cast<size_t>(scoredCount) + 1 || targetOffsets[0] != 0 ||
        targetOffsets.back() != static_cast<int32_t>(targetIds.size())) {
        return fail("targetOffsets must have one entry per scored position plus one");
    }
    for (size_t i = 1; i < targetOffsets.size(); i++) {
        if (targetOffsets[i] < targetOffsets[i - 1]) return fail("targetOffsets must not decrease");
    }
    const size_t targetCount = targetIds.size();
    if (whole) {
        for (const Window& w : windows) {
            if (w.topK != 0) return fail("whole-vocabulary modes take no topK");
        }
        if (targetCount != 0) return fail("whole-vocabulary modes take no targets");
    }
    const size_t positions = static_cast<size_t>(scoredCount);
    const size_t cells = positions * static_cast<size_t>(nVocab_);
    if (mode == Mode::Kld && (grids->levelCount != cells || grids->scale.size() != positions ||
                              grids->minLogprob.size() != positions)) {
        return fail("the grids must hold one vocabulary-long row per scored position");
    }
    auto* worker = new ScoreWorker(
        env, this,
        [this, tokens = std::move(tokens), windows, targetIds = std::move(targetIds),
         targetOffsets = std::move(targetOffsets), chunk, mode, grids](Outputs& out) {
            return Run(tokens, windows, targetIds, targetOffsets, chunk, mode, grids.get(), out);
        },
        mode);
    if (mode == Mode::Kld) worker->Keep(info[6].As<Napi::Object>());
    Outputs& out = worker->outputs();
    out.max.assign(scoredCount, NAN);
    out.weight.assign(scoredCount, NAN);
    out.actual.assign(scoredCount, NAN);
    out.targets.assign(targetCount, NAN);
    out.topOffsets.assign(scoredCount + 1, 0);
    for (const Window& w : windows) {
        const int32_t count = w.topK > 0 ? std::min(w.topK, nVocab_) : 0;
        for (int32_t k = 0; k < w.tokenCount - w.scoreFrom; k++) {
            out.topOffsets[w.firstScored + k + 1] = out.topOffsets[w.firstScored + k] + count;
        }
    }
    out.topIds.assign(out.topOffsets.back(), -1);
    out.topLogits.assign(out.topOffsets.back(), NAN);
    if (mode == Mode::Grid) {
        if (!out.levels.Allocate(cells)) {
            delete worker;
            return fail("cannot allocate the grids (" + std::to_string(cells * sizeof(uint16_t)) + " bytes)");
        }
        out.scale.assign(positions, NAN);
        out.minLogprob.assign(positions, NAN);
        out.targetLogprob.assign(positions, NAN);
    }
    if (mode == Mode::Kld) {
        out.kld.assign(positions, NAN);
        out.sameTop.assign(positions, 0);
        out.logprob.assign(positions, NAN);
    }
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

// choices(context, continuations, offsets): the continuations concatenated, offsets[c] where
// continuation c starts (one entry per continuation plus one). The result has one position per
// continuation token: max, weight and actual as `score` gives them, topIds the argmax.
Napi::Value Scorer::Choices(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<int32_t> context, continuations, offsets;
    if (!readArray<Napi::Int32Array>(info, 0, context) || !readArray<Napi::Int32Array>(info, 1, continuations) ||
        !readArray<Napi::Int32Array>(info, 2, offsets)) {
        return env.Undefined();
    }
    const auto fail = [&](const std::string& message) {
        Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
        return env.Undefined();
    };
    if (ctx_ == nullptr) return fail("the native scorer is disposed");
    if (context.empty()) return fail("the context must have a token");
    if (offsets.size() < 2 || offsets[0] != 0 || offsets.back() != static_cast<int32_t>(continuations.size())) {
        return fail("offsets must start at 0 and end at the continuations' length");
    }
    for (size_t c = 1; c < offsets.size(); c++) {
        if (offsets[c] <= offsets[c - 1]) return fail("continuation " + std::to_string(c - 1) + " is empty");
    }
    if (offsets.size() - 1 > nSeq_) {
        return fail(std::to_string(offsets.size() - 1) + " continuations, the scorer has " + std::to_string(nSeq_) + " sequences");
    }
    const size_t tokens = context.size() + continuations.size();
    if (tokens > nBatch_ || tokens > llama_n_ctx(ctx_)) {
        return fail(std::to_string(tokens) + " tokens exceed the scorer's context of " + std::to_string(llama_n_ctx(ctx_)));
    }
    for (const auto* part : {&context, &continuations}) {
        for (const int32_t token : *part) {
            if (token < 0 || token >= nVocab_) return fail("token " + std::to_string(token) + " is outside the vocabulary");
        }
    }
    const size_t scored = continuations.size();
    auto* worker = new ScoreWorker(
        env, this,
        [this, context = std::move(context), continuations = std::move(continuations),
         offsets = std::move(offsets)](Outputs& out) { return RunChoices(context, continuations, offsets, out); },
        Mode::Reduce);
    Outputs& out = worker->outputs();
    out.max.assign(scored, NAN);
    out.weight.assign(scored, NAN);
    out.actual.assign(scored, NAN);
    out.topOffsets.resize(scored + 1);
    for (size_t k = 0; k <= scored; k++) out.topOffsets[k] = static_cast<int32_t>(k);
    out.topIds.assign(scored, -1);
    out.topLogits.assign(scored, NAN);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

// greedy(tokens, clear, steps): RunGreedy off the main thread; the result's `picked` holds the
// `steps` tokens picked.
Napi::Value Scorer::Greedy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<int32_t> tokens;
    if (!readArray<Napi::Int32Array>(info, 0, tokens)) return env.Undefined();
    const auto fail = [&](const std::string& message) {
        Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
        return env.Undefined();
    };
    if (info.Length() < 3 || !info[1].IsBoolean() || !info[2].IsNumber()) {
        return fail("greedy(tokens, clear, steps)");
    }
    const bool clear = info[1].As<Napi::Boolean>().Value();
    const int32_t steps = info[2].As<Napi::Number>().Int32Value();
    if (ctx_ == nullptr) return fail("the native scorer is disposed");
    if (tokens.empty()) return fail("greedy decoding needs a token to decode");
    if (steps < 1) return fail("steps must be at least 1");
    for (const int32_t token : tokens) {
        if (token < 0 || token >= nVocab_) return fail("token " + std::to_string(token) + " is outside the vocabulary");
    }
    auto* worker = new ScoreWorker(
        env, this,
        [this, tokens = std::move(tokens), clear, steps](Outputs& out) { return RunGreedy(tokens, clear, steps, out); },
        Mode::Greedy);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

}  // namespace

Napi::Object InitScorer(Napi::Env env, Napi::Object exports) { return Scorer::Init(env, exports); }

NODE_API_MODULE(qbench_scorer, InitScorer)
