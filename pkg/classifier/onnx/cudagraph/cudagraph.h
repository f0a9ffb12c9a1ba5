// The C side of package cudagraph: ONNX Runtime's C API reached through the
// OrtApi table of the library onnxruntime_go already loaded, and the CUDA
// runtime's copy and allocation functions, both resolved with dlopen so that
// the binary links against neither.
#ifndef SEMANTIC_EPP_CUDAGRAPH_H
#define SEMANTIC_EPP_CUDAGRAPH_H

#include <stddef.h>
#include <stdint.h>

#define CG_MAX_IO 8

// Positions in ONNX Runtime's OrtApi function table of the functions used.
// ONNX Runtime only appends to the table, so they hold for every version
// serving APIVersion; abi_test.go checks them against the header of the
// onnxruntime_go module.
#define CG_API_FUNCTIONS(X) \
  X(GetErrorMessage, 2) \
  X(CreateEnv, 3) \
  X(CreateSessionFromArray, 8) \
  X(CreateSessionOptions, 10) \
  X(SetIntraOpNumThreads, 24) \
  X(CreateRunOptions, 39) \
  X(CreateTensorWithDataAsOrtValue, 49) \
  X(CreateMemoryInfo, 68) \
  X(ReleaseEnv, 92) \
  X(ReleaseStatus, 93) \
  X(ReleaseMemoryInfo, 94) \
  X(ReleaseSession, 95) \
  X(ReleaseValue, 96) \
  X(ReleaseRunOptions, 97) \
  X(ReleaseSessionOptions, 100) \
  X(AddSessionConfigEntry, 130) \
  X(RunWithBinding, 133) \
  X(CreateIoBinding, 134) \
  X(ReleaseIoBinding, 135) \
  X(BindInput, 136) \
  X(BindOutput, 137) \
  X(AddRunConfigEntry, 165) \
  X(SessionOptionsAppendExecutionProvider_CUDA_V2, 204) \
  X(CreateCUDAProviderOptions, 205) \
  X(UpdateCUDAProviderOptions, 206) \
  X(ReleaseCUDAProviderOptions, 208)

#define CG_IDX(name, i) IDX_##name = i,
enum { CG_API_FUNCTIONS(CG_IDX) };
#undef CG_IDX

// Where a slot's tensors live. Both stage them in pinned host memory, one
// block for the inputs and one for the outputs.
enum cg_memory {
  CG_MAPPED = 0, // the graph reads and writes the host blocks, mapped into the device: no copy
  CG_DEVICE = 1, // device blocks: one synchronous copy of each block, each way
};

typedef struct cg_session cg_session;
typedef struct cg_slot cg_slot;

// cg_open resolves both libraries. It returns NULL or a message the caller frees.
char *cg_open(const char *ort_path, int api_version);

// cg_session_new creates a CUDA session of model with CUDA graphs enabled.
char *cg_session_new(const void *model, size_t model_len, int device_id, int intra_threads,
                     const char *const *keys, const char *const *values, size_t n_options,
                     cg_session **out);
void cg_session_free(cg_session *s);

// cg_slot_new binds buffers of fixed shape to a new IoBinding whose runs
// use graph id graph_id: inputs int64 [batch, seq]; output i float32
// [batch, widths[i]], in memory (a cg_memory).
char *cg_slot_new(cg_session *s, int graph_id, int64_t batch, int64_t seq,
                  const char *const *inputs, size_t n_inputs,
                  const char *const *outputs, const int64_t *widths, size_t n_outputs,
                  int memory, cg_slot **out);
void cg_slot_free(cg_slot *slot);

// cg_slot_run passes the inputs (n_inputs arrays of batch*seq int64, in the
// slot's order) to the graph, runs it, and returns the outputs (n_outputs
// arrays of batch*width float32).
char *cg_slot_run(cg_slot *slot, const int64_t *const *in, float *const *out);

// cg_api_index returns the table position of the n-th function of
// CG_API_FUNCTIONS and its name, or -1 past the end.
int cg_api_index(int n, const char **name);

#endif
