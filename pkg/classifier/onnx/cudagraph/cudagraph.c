//go:build cgo

#include "cudagraph.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Opaque ONNX Runtime handles.
typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtRunOptions OrtRunOptions;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtValue OrtValue;
typedef struct OrtIoBinding OrtIoBinding;
typedef struct OrtCUDAProviderOptionsV2 OrtCUDAProviderOptionsV2;

enum { ORT_LOGGING_LEVEL_ERROR = 3 };
enum { ORT_DEVICE_ALLOCATOR = 0, ORT_MEM_TYPE_DEFAULT = 0 };
enum { TENSOR_FLOAT = 1, TENSOR_INT64 = 7 };
enum { CUDA_MEMCPY_H2D = 1, CUDA_MEMCPY_D2H = 2 };

typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} OrtApiBase;

static void *const *api;  // the OrtApi table

#define FN(name, ret, ...) ((ret(*)(__VA_ARGS__))api[IDX_##name])

// The CUDA runtime, resolved from the library the CUDA provider loads.
static struct {
	int (*SetDevice)(int);
	int (*Malloc)(void **, size_t);
	int (*Free)(void *);
	int (*MallocHost)(void **, size_t);
	int (*FreeHost)(void *);
	int (*Memcpy)(void *, const void *, size_t, int);
	const char *(*GetErrorString)(int);
} cuda;

static char *msg(const char *fmt, const char *a, const char *b) {
	if (!a) a = "";
	if (!b) b = "";
	size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
	char *m = malloc(n);
	if (m) snprintf(m, n, fmt, a, b);
	return m;
}

// status turns an OrtStatus into a message and releases it.
static char *status(OrtStatus *st, const char *what) {
	if (!st) return NULL;
	char *m = msg("%s: %s", what, FN(GetErrorMessage, const char *, const OrtStatus *)(st));
	FN(ReleaseStatus, void, OrtStatus *)(st);
	return m;
}

static char *cuda_err(int rc, const char *what) {
	if (rc == 0) return NULL;
	return msg("%s: %s", what, cuda.GetErrorString(rc));
}

int cg_api_index(int n, const char **name) {
#define CG_ROW(fn, i) {#fn, i},
	static const struct {
		const char *name;
		int index;
	} rows[] = {CG_API_FUNCTIONS(CG_ROW)};
#undef CG_ROW
	if (n < 0 || (size_t)n >= sizeof rows / sizeof *rows) return -1;
	*name = rows[n].name;
	return rows[n].index;
}

char *cg_open(const char *ort_path, int api_version) {
	void *ort = dlopen(ort_path, RTLD_NOW | RTLD_LOCAL);
	if (!ort) return msg("loading %s: %s", ort_path, dlerror());
	const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(ort, "OrtGetApiBase");
	if (!get_base) return msg("%s has no OrtGetApiBase%s", ort_path, "");
	api = get_base()->GetApi((uint32_t)api_version);
	if (!api) return msg("%s does not serve the C API version this build needs%s", ort_path, "");
	static const char *names[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
	void *rt = NULL;
	for (size_t i = 0; i < sizeof names / sizeof *names && !rt; i++) rt = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!rt) return msg("loading the CUDA runtime (libcudart.so.13 or .12): %s%s", dlerror(), "");
#define SYM(field, name)                                          \
	*(void **)&cuda.field = dlsym(rt, name);                      \
	if (!cuda.field) return msg("the CUDA runtime has no %s%s", name, "");
	SYM(SetDevice, "cudaSetDevice")
	SYM(Malloc, "cudaMalloc")
	SYM(Free, "cudaFree")
	SYM(MallocHost, "cudaMallocHost")
	SYM(FreeHost, "cudaFreeHost")
	SYM(Memcpy, "cudaMemcpy")
	SYM(GetErrorString, "cudaGetErrorString")
#undef SYM
	return NULL;
}

struct cg_session {
	OrtEnv *env;
	OrtSession *session;
	OrtMemoryInfo *device_mem;
	int device_id;
};

void cg_session_free(cg_session *s) {
	if (!s) return;
	if (s->device_mem) FN(ReleaseMemoryInfo, void, OrtMemoryInfo *)(s->device_mem);
	if (s->session) FN(ReleaseSession, void, OrtSession *)(s->session);
	if (s->env) FN(ReleaseEnv, void, OrtEnv *)(s->env);
	free(s);
}

char *cg_session_new(const void *model, size_t model_len, int device_id, int intra_threads,
                     const char *const *keys, const char *const *values, size_t n_options,
                     cg_session **out) {
	cg_session *s = calloc(1, sizeof *s);
	if (!s) return msg("out of memory%s%s", "", "");
	s->device_id = device_id;
	OrtSessionOptions *so = NULL;
	OrtCUDAProviderOptionsV2 *cu = NULL;
	char *err = NULL;
	if ((err = cuda_err(cuda.SetDevice(device_id), "selecting the CUDA device"))) goto fail;

	// One OrtEnv per process: this returns the one onnxruntime_go created, counted.
	if ((err = status(FN(CreateEnv, OrtStatus *, int, const char *, OrtEnv **)(ORT_LOGGING_LEVEL_ERROR, "semantic-epp", &s->env), "environment"))) goto fail;
	if ((err = status(FN(CreateSessionOptions, OrtStatus *, OrtSessionOptions **)(&so), "session options"))) goto fail;
	if (intra_threads > 0 && (err = status(FN(SetIntraOpNumThreads, OrtStatus *, OrtSessionOptions *, int)(so, intra_threads), "intra-op threads"))) goto fail;
	if ((err = status(FN(AddSessionConfigEntry, OrtStatus *, OrtSessionOptions *, const char *, const char *)(so, "session.intra_op.allow_spinning", "0"), "spinning"))) goto fail;
	if ((err = status(FN(CreateCUDAProviderOptions, OrtStatus *, OrtCUDAProviderOptionsV2 **)(&cu), "CUDA provider options"))) goto fail;
	if ((err = status(FN(UpdateCUDAProviderOptions, OrtStatus *, OrtCUDAProviderOptionsV2 *, const char *const *, const char *const *, size_t)(cu, keys, values, n_options), "CUDA provider options"))) goto fail;
	if ((err = status(FN(SessionOptionsAppendExecutionProvider_CUDA_V2, OrtStatus *, OrtSessionOptions *, const OrtCUDAProviderOptionsV2 *)(so, cu), "adding the CUDA execution provider"))) goto fail;
	if ((err = status(FN(CreateSessionFromArray, OrtStatus *, const OrtEnv *, const void *, size_t, const OrtSessionOptions *, OrtSession **)(s->env, model, model_len, so, &s->session), "creating the session"))) goto fail;
	if ((err = status(FN(CreateMemoryInfo, OrtStatus *, const char *, int, int, int, OrtMemoryInfo **)("Cuda", ORT_DEVICE_ALLOCATOR, device_id, ORT_MEM_TYPE_DEFAULT, &s->device_mem), "CUDA memory info"))) goto fail;
	FN(ReleaseCUDAProviderOptions, void, OrtCUDAProviderOptionsV2 *)(cu);
	FN(ReleaseSessionOptions, void, OrtSessionOptions *)(so);
	*out = s;
	return NULL;
fail:
	if (cu) FN(ReleaseCUDAProviderOptions, void, OrtCUDAProviderOptionsV2 *)(cu);
	if (so) FN(ReleaseSessionOptions, void, OrtSessionOptions *)(so);
	cg_session_free(s);
	return err;
}

// A slot is one captured shape: device and pinned host buffers bound once.
struct cg_slot {
	cg_session *s;
	OrtIoBinding *binding;
	OrtRunOptions *run;
	size_t n_in, n_out;
	size_t in_bytes;                 // each input
	size_t out_bytes[CG_MAX_IO];     // each output
	void *dev[2 * CG_MAX_IO];        // inputs, then outputs
	void *host[2 * CG_MAX_IO];       // pinned staging, same order
	OrtValue *val[2 * CG_MAX_IO];
};

void cg_slot_free(cg_slot *slot) {
	if (!slot) return;
	if (slot->binding) FN(ReleaseIoBinding, void, OrtIoBinding *)(slot->binding);
	if (slot->run) FN(ReleaseRunOptions, void, OrtRunOptions *)(slot->run);
	for (size_t i = 0; i < 2 * CG_MAX_IO; i++) {
		if (slot->val[i]) FN(ReleaseValue, void, OrtValue *)(slot->val[i]);
		if (slot->dev[i]) cuda.Free(slot->dev[i]);
		if (slot->host[i]) cuda.FreeHost(slot->host[i]);
	}
	free(slot);
}

char *cg_slot_new(cg_session *s, int graph_id, int64_t batch, int64_t seq,
                  const char *const *inputs, size_t n_inputs,
                  const char *const *outputs, const int64_t *widths, size_t n_outputs,
                  cg_slot **out) {
	if (n_inputs > CG_MAX_IO || n_outputs > CG_MAX_IO) return msg("too many inputs or outputs%s%s", "", "");
	cg_slot *slot = calloc(1, sizeof *slot);
	if (!slot) return msg("out of memory%s%s", "", "");
	slot->s = s;
	slot->n_in = n_inputs;
	slot->n_out = n_outputs;
	char *err = NULL;
	char id[24];
	snprintf(id, sizeof id, "%d", graph_id);
	if ((err = cuda_err(cuda.SetDevice(s->device_id), "selecting the CUDA device"))) goto fail;
	if ((err = status(FN(CreateIoBinding, OrtStatus *, OrtSession *, OrtIoBinding **)(s->session, &slot->binding), "IoBinding"))) goto fail;
	if ((err = status(FN(CreateRunOptions, OrtStatus *, OrtRunOptions **)(&slot->run), "run options"))) goto fail;
	if ((err = status(FN(AddRunConfigEntry, OrtStatus *, OrtRunOptions *, const char *, const char *)(slot->run, "gpu_graph_id", id), "gpu_graph_id"))) goto fail;
	slot->in_bytes = (size_t)(batch * seq) * sizeof(int64_t);
	for (size_t i = 0; i < n_inputs + n_outputs; i++) {
		int is_in = i < n_inputs;
		size_t k = is_in ? i : CG_MAX_IO + (i - n_inputs);
		int64_t shape[2] = {batch, is_in ? seq : widths[i - n_inputs]};
		size_t bytes = is_in ? slot->in_bytes : (size_t)(batch * shape[1]) * sizeof(float);
		if (!is_in) slot->out_bytes[i - n_inputs] = bytes;
		const char *name = is_in ? inputs[i] : outputs[i - n_inputs];
		if ((err = cuda_err(cuda.Malloc(&slot->dev[k], bytes), "allocating GPU memory"))) goto fail;
		if ((err = cuda_err(cuda.MallocHost(&slot->host[k], bytes), "allocating pinned host memory"))) goto fail;
		memset(slot->host[k], 0, bytes);
		if ((err = status(FN(CreateTensorWithDataAsOrtValue, OrtStatus *, const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int, OrtValue **)(
		                      s->device_mem, slot->dev[k], bytes, shape, 2, is_in ? TENSOR_INT64 : TENSOR_FLOAT, &slot->val[k]),
		                  name))) goto fail;
		if (is_in) err = status(FN(BindInput, OrtStatus *, OrtIoBinding *, const char *, const OrtValue *)(slot->binding, name, slot->val[k]), name);
		else err = status(FN(BindOutput, OrtStatus *, OrtIoBinding *, const char *, const OrtValue *)(slot->binding, name, slot->val[k]), name);
		if (err) goto fail;
	}
	*out = slot;
	return NULL;
fail:
	cg_slot_free(slot);
	return err;
}

char *cg_slot_run(cg_slot *slot, const int64_t *const *in, float *const *out) {
	char *err;
	// The calling thread may not have used the device yet; cheap when it has.
	if ((err = cuda_err(cuda.SetDevice(slot->s->device_id), "selecting the CUDA device"))) return err;
	// The copies are synchronous: from pinned memory a copy to the device has
	// finished when cudaMemcpy returns, and Run returns after synchronizing
	// ONNX Runtime's stream, so the graph reads complete inputs and its
	// outputs are complete before they are read. (ONNX Runtime cannot
	// capture on a stream of ours, user_compute_stream: error 900.)
	for (size_t i = 0; i < slot->n_in; i++) {
		memcpy(slot->host[i], in[i], slot->in_bytes);
		if ((err = cuda_err(cuda.Memcpy(slot->dev[i], slot->host[i], slot->in_bytes, CUDA_MEMCPY_H2D), "copying inputs to the GPU"))) return err;
	}
	if ((err = status(FN(RunWithBinding, OrtStatus *, OrtSession *, const OrtRunOptions *, const OrtIoBinding *)(slot->s->session, slot->run, slot->binding), "run"))) return err;
	for (size_t i = 0; i < slot->n_out; i++) {
		size_t k = CG_MAX_IO + i;
		if ((err = cuda_err(cuda.Memcpy(slot->host[k], slot->dev[k], slot->out_bytes[i], CUDA_MEMCPY_D2H), "copying outputs from the GPU"))) return err;
		memcpy(out[i], slot->host[k], slot->out_bytes[i]);
	}
	return NULL;
}
