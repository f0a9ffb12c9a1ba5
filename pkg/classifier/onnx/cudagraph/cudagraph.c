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
enum { CUDA_HOST_ALLOC_MAPPED = 2 };

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
	int (*HostAlloc)(void **, size_t, unsigned int);
	int (*HostGetDevicePointer)(void **, void *, unsigned int);
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
	SYM(HostAlloc, "cudaHostAlloc")
	SYM(HostGetDevicePointer, "cudaHostGetDevicePointer")
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

// A slot is one captured shape: its inputs and its outputs each live in one
// block (cg_memory), so that a run moves each way in at most one copy.
struct cg_slot {
	cg_session *s;
	OrtIoBinding *binding;
	OrtRunOptions *run;
	size_t n_in, n_out;
	size_t in_bytes;                 // each input
	size_t out_bytes[CG_MAX_IO];     // each output
	size_t off[2 * CG_MAX_IO];       // of each tensor in its block: inputs, then outputs
	size_t block[2];                 // bytes of the input and the output block
	void *host[2];                   // pinned, mapped: input and output block
	void *dev[2];                    // device blocks; NULL where the graph reads or writes host[] itself
	OrtValue *val[2 * CG_MAX_IO];
};

void cg_slot_free(cg_slot *slot) {
	if (!slot) return;
	if (slot->binding) FN(ReleaseIoBinding, void, OrtIoBinding *)(slot->binding);
	if (slot->run) FN(ReleaseRunOptions, void, OrtRunOptions *)(slot->run);
	for (size_t i = 0; i < 2 * CG_MAX_IO; i++) {
		if (slot->val[i]) FN(ReleaseValue, void, OrtValue *)(slot->val[i]);
	}
	for (size_t i = 0; i < 2; i++) {
		if (slot->dev[i]) cuda.Free(slot->dev[i]);
		if (slot->host[i]) cuda.FreeHost(slot->host[i]);
	}
	free(slot);
}

// CG_ALIGN is the alignment of each tensor in a block (cudaMalloc's own).
enum { CG_ALIGN = 256 };

static size_t align_up(size_t n) { return (n + CG_ALIGN - 1) / CG_ALIGN * CG_ALIGN; }

char *cg_slot_new(cg_session *s, int graph_id, int64_t batch, int64_t seq,
                  const char *const *inputs, size_t n_inputs,
                  const char *const *outputs, const int64_t *widths, size_t n_outputs,
                  int memory, cg_slot **out) {
	if (n_inputs > CG_MAX_IO || n_outputs > CG_MAX_IO) return msg("too many inputs or outputs%s%s", "", "");
	if (memory != CG_MAPPED && memory != CG_DEVICE) return msg("unknown memory kind%s%s", "", "");
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
		size_t bytes = is_in ? slot->in_bytes : (size_t)(batch * widths[i - n_inputs]) * sizeof(float);
		if (!is_in) slot->out_bytes[i - n_inputs] = bytes;
		slot->off[k] = slot->block[!is_in];
		slot->block[!is_in] += align_up(bytes);
	}
	void *base[2]; // where the graph finds each block
	for (int b = 0; b < 2; b++) {
		if ((err = cuda_err(cuda.HostAlloc(&slot->host[b], slot->block[b], CUDA_HOST_ALLOC_MAPPED), "allocating pinned host memory"))) goto fail;
		memset(slot->host[b], 0, slot->block[b]);
		if (memory == CG_DEVICE) {
			if ((err = cuda_err(cuda.Malloc(&slot->dev[b], slot->block[b]), "allocating GPU memory"))) goto fail;
			base[b] = slot->dev[b];
		} else if ((err = cuda_err(cuda.HostGetDevicePointer(&base[b], slot->host[b], 0), "mapping pinned host memory"))) goto fail;
	}
	for (size_t i = 0; i < n_inputs + n_outputs; i++) {
		int is_in = i < n_inputs;
		size_t k = is_in ? i : CG_MAX_IO + (i - n_inputs);
		int64_t shape[2] = {batch, is_in ? seq : widths[i - n_inputs]};
		size_t bytes = is_in ? slot->in_bytes : slot->out_bytes[i - n_inputs];
		const char *name = is_in ? inputs[i] : outputs[i - n_inputs];
		void *data = (char *)base[!is_in] + slot->off[k];
		if ((err = status(FN(CreateTensorWithDataAsOrtValue, OrtStatus *, const OrtMemoryInfo *, void *, size_t, const int64_t *, size_t, int, OrtValue **)(
		                      s->device_mem, data, bytes, shape, 2, is_in ? TENSOR_INT64 : TENSOR_FLOAT, &slot->val[k]),
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

// copy moves block b (0 inputs, 1 outputs) between the pinned host block and
// the device block; nothing where the graph reads or writes the host block.
static char *copy(cg_slot *slot, int b) {
	if (!slot->dev[b]) return NULL;
	if (b) return cuda_err(cuda.Memcpy(slot->host[b], slot->dev[b], slot->block[b], CUDA_MEMCPY_D2H), "copying outputs from the GPU");
	return cuda_err(cuda.Memcpy(slot->dev[b], slot->host[b], slot->block[b], CUDA_MEMCPY_H2D), "copying inputs to the GPU");
}

char *cg_slot_run(cg_slot *slot, const int64_t *const *in, float *const *out) {
	char *err;
	// The calling thread may not have used the device yet; cheap when it has.
	if ((err = cuda_err(cuda.SetDevice(slot->s->device_id), "selecting the CUDA device"))) return err;
	// The copies are synchronous: from pinned memory a copy to the device has
	// finished when cudaMemcpy returns, and Run returns after synchronizing
	// ONNX Runtime's stream, so the graph reads complete inputs and its
	// outputs (in the device block, or written through to the mapped host
	// block) are complete before they are read. (ONNX Runtime cannot
	// capture on a stream of ours, user_compute_stream: error 900.)
	for (size_t i = 0; i < slot->n_in; i++) memcpy((char *)slot->host[0] + slot->off[i], in[i], slot->in_bytes);
	if ((err = copy(slot, 0))) return err;
	if ((err = status(FN(RunWithBinding, OrtStatus *, OrtSession *, const OrtRunOptions *, const OrtIoBinding *)(slot->s->session, slot->run, slot->binding), "run"))) return err;
	if ((err = copy(slot, 1))) return err;
	for (size_t i = 0; i < slot->n_out; i++) memcpy(out[i], (char *)slot->host[1] + slot->off[CG_MAX_IO + i], slot->out_bytes[i]);
	return NULL;
}
