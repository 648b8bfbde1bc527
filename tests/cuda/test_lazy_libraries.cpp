// The lazily loaded CUDA libraries (kernels/cuda/lazy_library.hpp, libraries.hpp), no device
// needed: dlopen of cuBLAS, cuBLASLt, cuDNN and NVRTC works without a GPU, so each table resolves
// every function its list declares, and calls that need no device work through it; threads racing
// on a table's first use all get it; a library or function that is missing raises terra::Error
// naming it, every time, instead of crashing.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "terra_config.hpp"
#if TERRA_WITH_CUDA
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include "kernels/cuda/libraries.hpp"

// Declared, never defined anywhere: the missing function below.
extern "C" int terra_test_missing_function(int);

namespace terra::test {
namespace {

#define TERRA_TEST_RESOLVED(prefix, fn) CHECK(table.fn != nullptr);

TEST_CASE("lazy CUDA libraries: each table resolves every function it declares", "[cuda][lazy]") {
  {
    const cuda::CublasApi& table = cuda::cublas();
    TERRA_CUBLAS_FUNCTIONS(TERRA_TEST_RESOLVED)
  }
  {
    const cuda::CublasLtApi& table = cuda::cublaslt();
    TERRA_CUBLASLT_FUNCTIONS(TERRA_TEST_RESOLVED)
  }
  {
    const cuda::NvrtcApi& table = cuda::nvrtc();
    TERRA_NVRTC_FUNCTIONS(TERRA_TEST_RESOLVED)
  }
#if TERRA_WITH_CUDNN
  {
    const cuda::CudnnApi& table = cuda::cudnn();
    TERRA_CUDNN_FUNCTIONS(TERRA_TEST_RESOLVED)
  }
#endif
  // A name the header maps to a versioned symbol is looked up under that symbol.
  CHECK(std::string(TERRA_LAZY_STRING(cublasCreate)) == "cublasCreate_v2");
  Dl_info info{};
  REQUIRE(dladdr(reinterpret_cast<void*>(cuda::cublas().Create), &info) != 0);
  CHECK(std::string(info.dli_sname) == "cublasCreate_v2");
  // Calls through each table that need no device.
  int major = 0, minor = 0;
  REQUIRE(cuda::nvrtc().Version(&major, &minor) == NVRTC_SUCCESS);
  CHECK(major == CUDART_VERSION / 1000);
  CHECK(std::string(cuda::cublas().GetStatusName(CUBLAS_STATUS_NOT_SUPPORTED)) == "CUBLAS_STATUS_NOT_SUPPORTED");
  cublasLtMatrixLayout_t layout = nullptr;
  REQUIRE(cuda::cublaslt().MatrixLayoutCreate(&layout, CUDA_R_32F, 4, 3, 4) == CUBLAS_STATUS_SUCCESS);
  CHECK(cuda::cublaslt().MatrixLayoutDestroy(layout) == CUBLAS_STATUS_SUCCESS);
#if TERRA_WITH_CUDNN
  cudnnTensorDescriptor_t tensor = nullptr;  // cuDNN's shim loads its sub-libraries behind the table
  REQUIRE(cuda::cudnn().CreateTensorDescriptor(&tensor) == CUDNN_STATUS_SUCCESS);
  CHECK(cuda::cudnn().SetTensor4dDescriptor(tensor, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, 3, 4) ==
        CUDNN_STATUS_SUCCESS);
  CHECK(cuda::cudnn().DestroyTensorDescriptor(tensor) == CUDNN_STATUS_SUCCESS);
#endif
}

TEST_CASE("lazy CUDA libraries: threads racing on the first use get one table", "[cuda][lazy]") {
  const cuda::LazyTable<cuda::NvrtcApi> table("NVRTC", "libnvrtc.so." + std::to_string(CUDART_VERSION / 1000));
  std::vector<const cuda::NvrtcApi*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&, i] { seen[i] = &table.get(); });
  for (std::thread& t : threads) t.join();
  for (const cuda::NvrtcApi* t : seen) {
    REQUIRE(t == &table.get());
    CHECK(t->CompileProgram == cuda::nvrtc().CompileProgram);
  }
}

#define TERRA_TEST_MISSING(X) X(terra_test_missing_, function)
TERRA_LAZY_TABLE(MissingApi, TERRA_TEST_MISSING);

TEST_CASE("lazy CUDA libraries: a missing library or function raises a clear error", "[cuda][lazy]") {
  const cuda::LazyTable<MissingApi> no_library("cuFoo", "libterra_no_such_library.so.1");
  for (int attempt = 0; attempt < 2; ++attempt) {  // the same error each time, no crash
    try {
      no_library.get();
      FAIL("expected terra::Error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Runtime);
      CHECK_THAT(e.what(), Catch::Contains("cuFoo is needed here but libterra_no_such_library.so.1 could not "
                                           "be loaded"));
    }
  }
  const cuda::LazyTable<MissingApi> no_function("NVRTC", "libnvrtc.so." + std::to_string(CUDART_VERSION / 1000));
  CHECK_THROWS_WITH(no_function.get(), Catch::Contains("NVRTC (libnvrtc.so.") &&
                                           Catch::Contains("has no function terra_test_missing_function"));
}

}  // namespace
}  // namespace terra::test
#endif
