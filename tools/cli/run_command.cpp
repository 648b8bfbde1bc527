// `terra run`: option parsing, then an embedded CPython (pybind11/embed.h) that runs the script
// as `__main__` the way `python3 script.py args` does. Options come before the script name;
// everything after it belongs to the script.
#include "tools/cli/run_command.hpp"

// Python.h (through pybind11) must come before the standard headers.
#include <pybind11/embed.h>

#include <unistd.h>  // access

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "tensor/cuda/cuda_device.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;

// Note [Running like python3]
// Rather than re-implementing the interpreter's main (sys.argv, sys.path[0], __main__,
// SystemExit codes and messages, tracebacks, KeyboardInterrupt ending the process by SIGINT,
// atexit, flushing stdout), `terra run` hands the script to CPython's own main loop: it
// initializes the interpreter from a PyConfig filled in as `python3` fills its own (the Python
// configuration: environment variables such as PYTHONPATH honoured, Python's SIGINT handler
// installed, user site-packages), with argv = [script, args...] not parsed as interpreter
// options, and `run_filename` = the script; then calls Py_RunMain, which runs the file in the
// real `__main__` module, puts the script's folder first on sys.path, and finalizes. Between
// the two, with the interpreter up but the script not started, Terra does its own set-up
// (the torch alias, the replay session), so nothing of it shows in the script's tracebacks.
//
// sys.executable is the Python Terra was built against (not `terra`), so a script that starts
// `sys.executable` in a subprocess gets a Python interpreter, as it would under python3.

#ifndef TERRA_PYTHON_EXECUTABLE
#error "TERRA_PYTHON_EXECUTABLE (the python3 that Terra embeds) must be defined by the build"
#endif

namespace terra::cli {

const char* const kRunSummary =
    "  run [options] SCRIPT [ARGS...]\n"
    "                 run a Python program as __main__ under Terra, like python3 SCRIPT ARGS...\n"
    "                 options (before SCRIPT):\n"
    "                   --mode coexec|eager|replay  execution mode (default coexec: co-executed)\n"
    "                   --explain               at exit, report fallbacks, waits and compile times\n"
    "                   --actor-trace FILE      write every actor message as Chrome Trace JSON\n"
    "                   --dump-graph DIR        write the TraceGraph and plans to DIR at exit\n"
    "                   --device auto|cpu|cuda  device for Terra, exported as TERRA_DEVICE (default auto)\n"
    "                   --as-torch              `import torch` (and torch.nn, torch.optim, ...) is Terra\n";

namespace {

const char* kRunUsage =
    "usage: terra run [options] SCRIPT [ARGS...]\n"
    "\n"
    "Runs the Python program SCRIPT as __main__, as `python3 SCRIPT ARGS...` would: sys.argv is\n"
    "[SCRIPT, ARGS...], SCRIPT's folder is first on sys.path, PYTHONPATH is honoured, and the exit\n"
    "status is the program's. Everything after SCRIPT is passed to the program.\n"
    "\n"
    "options:\n"
    "  --mode coexec|eager|replay\n"
    "                          how Terra executes the program (default: coexec). coexec: the first\n"
    "                          iterations of the program's loop run eagerly and are traced; later\n"
    "                          ones run on compiled plans on the graph actor's thread while Python\n"
    "                          goes on, waiting only where it reads a value; a new path falls back\n"
    "                          to eager and is learned. replay: the same, with the plans run\n"
    "                          synchronously on Python's thread. eager: op by op, no session.\n"
    "                          TERRA_STABLE_AFTER, TERRA_MAX_PATHS, TERRA_FUSION=0, TERRA_SPAN_OPS\n"
    "                          set the session's options.\n"
    "  --explain               with coexec or replay: at exit, print to stderr the iterations run\n"
    "                          eagerly, traced and co-executed, every fallback with its reason and\n"
    "                          source line, the sync points ranked by the time Python waited there,\n"
    "                          compile times, and time in Python against time in the graph\n"
    "  --actor-trace FILE      with coexec or replay: record every actor message and state change\n"
    "                          and write them to FILE as Chrome Trace Event JSON (open in Perfetto)\n"
    "  --dump-graph DIR        with coexec or replay: write the TraceGraph (trace_graph.json,\n"
    "                          trace_graph.dot) and the compiled plans to DIR when the program exits\n"
    "                          (exported as TERRA_DUMP_GRAPH)\n"
    "  --device auto|cpu|cuda  the default device of the program's tensors and modules: cuda (an\n"
    "                          error without a GPU), cpu, or auto (cuda when a GPU is present);\n"
    "                          exported as TERRA_DEVICE (default: auto, or TERRA_DEVICE when set)\n"
    "  --as-torch              make `import torch` and its submodules (torch.nn, torch.optim,\n"
    "                          torch.utils.data, ...) resolve to the matching terra modules, so a\n"
    "                          PyTorch script runs unmodified\n"
    "  -h, --help              show this help\n";

enum class Mode { eager, replay, coexec };

struct RunOptions {
  Mode mode = Mode::coexec;
  std::optional<std::string> dump_dir;  // --dump-graph
  bool explain = false;
  std::optional<std::string> actor_trace;  // --actor-trace
  std::optional<std::string> device;  // unset: keep TERRA_DEVICE, or "auto"
  bool as_torch = false;
  std::string script;
  std::vector<std::string> script_args;
};

int usage_error(const std::string& message) {
  std::cerr << "terra: " << message << "\n";
  return 2;
}

// Splits `--name=value` or takes the next word as the value. Returns false when there is none.
bool option_value(const std::string& arg, const std::string& name, int argc, char** args, int& i,
                  std::string& value) {
  if (arg.size() > name.size() && arg[name.size()] == '=') {
    value = arg.substr(name.size() + 1);
    return true;
  }
  if (i + 1 >= argc) return false;
  value = args[++i];
  return true;
}

// Fills `opts` from the words after `run`. Returns an exit status when the command should stop
// here (help, usage error), nothing when the script should run.
std::optional<int> parse_run_args(int argc, char** args, RunOptions& opts) {
  int i = 0;
  for (; i < argc; ++i) {
    std::string arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the script ("-" alone is refused below)
    std::string name = arg.substr(0, arg.find('='));
    if (arg == "-h" || arg == "--help") {
      std::cout << kRunUsage;
      return 0;
    }
    if (name == "--as-torch" && name == arg) {
      opts.as_torch = true;
    } else if (name == "--explain" && name == arg) {
      opts.explain = true;
    } else if (name == "--actor-trace") {
      std::string value;
      if (!option_value(arg, name, argc, args, i, value) || value.empty())
        return usage_error("--actor-trace needs a file to write");
      opts.actor_trace = value;
    } else if (name == "--mode") {
      std::string value;
      if (!option_value(arg, name, argc, args, i, value)) {
        return usage_error("--mode needs a value: eager, replay or coexec");
      }
      if (value == "eager") {
        opts.mode = Mode::eager;
      } else if (value == "replay") {
        opts.mode = Mode::replay;
      } else if (value == "coexec") {
        opts.mode = Mode::coexec;
      } else {
        return usage_error("unknown --mode '" + value + "' (choose eager, replay or coexec)");
      }
    } else if (name == "--dump-graph") {
      std::string value;
      if (!option_value(arg, name, argc, args, i, value) || value.empty()) {
        return usage_error("--dump-graph needs a folder");
      }
      opts.dump_dir = value;
    } else if (name == "--device") {
      std::string value;
      if (!option_value(arg, name, argc, args, i, value)) {
        return usage_error("--device needs a value: auto, cpu or cuda");
      }
      if (value != "auto" && value != "cpu" && value != "cuda") {
        return usage_error("unknown --device '" + value + "' (choose auto, cpu or cuda)");
      }
      opts.device = value;
    } else {
      return usage_error("unknown option '" + arg + "' for run (see terra run --help)");
    }
  }
  if (i >= argc) return usage_error("run needs a script: terra run [options] SCRIPT [ARGS...]");
  opts.script = args[i];
  if (opts.script == "-") {
    return usage_error("run reads its program from a file, not from standard input");
  }
  opts.script_args.assign(args + i + 1, args + argc);

  if (opts.mode == Mode::eager) {
    // Only a session has a graph to dump, fallbacks to explain or actors to trace.
    if (opts.dump_dir) return usage_error("--dump-graph needs --mode coexec or replay, not eager");
    if (opts.explain) return usage_error("--explain needs --mode coexec or replay, not eager");
    if (opts.actor_trace) return usage_error("--actor-trace needs --mode coexec or replay, not eager");
  }
  // Checked here so the message is terra's one line (Py_RunMain would name python3 instead).
  std::error_code ec;
  if (!fs::exists(opts.script, ec)) {
    return usage_error("can't open file '" + opts.script + "': No such file or directory");
  }
  if (access(opts.script.c_str(), R_OK) != 0) {
    return usage_error("can't open file '" + opts.script + "': Permission denied");
  }
  return std::nullopt;
}

// `<builddir>/bindings` when this executable is `<builddir>/tools/terra` and the package has been
// built beside it; nothing when terra is installed (the package is then in Python's site path).
std::optional<fs::path> build_tree_bindings() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  fs::path bindings = exe.parent_path().parent_path() / "bindings";
  if (!fs::exists(bindings / "terra" / "__init__.py", ec)) return std::nullopt;
  return fs::canonical(bindings, ec);
}

// Throws std::runtime_error on a failed PyConfig call (out of memory, undecodable bytes).
void check(PyStatus status, PyConfig& config) {
  if (!PyStatus_Exception(status)) return;
  PyConfig_Clear(&config);
  throw std::runtime_error(status.err_msg ? status.err_msg : "could not configure Python");
}

// Brings the interpreter up per Note [Running like python3], without running anything yet.
void start_python(const RunOptions& opts) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;  // the script's arguments are not interpreter options
  check(PyConfig_SetBytesString(&config, &config.program_name, TERRA_PYTHON_EXECUTABLE), config);
  check(PyConfig_SetBytesString(&config, &config.run_filename, opts.script.c_str()), config);
  // The build tree's package goes after PYTHONPATH (so a PYTHONPATH the user chose wins) and
  // before the standard library and site-packages (so it wins over an installed terra).
  if (auto bindings = build_tree_bindings()) {
    const char* env = std::getenv("PYTHONPATH");
    std::string path = (env && *env) ? std::string(env) + ":" + bindings->string() : bindings->string();
    check(PyConfig_SetBytesString(&config, &config.pythonpath_env, path.c_str()), config);
  }
  std::vector<const char*> argv{opts.script.c_str()};
  for (const auto& a : opts.script_args) argv.push_back(a.c_str());
  // Clears `config` on success and on failure; Py_RunMain adds the script's folder to sys.path.
  py::initialize_interpreter(&config, static_cast<int>(argv.size()), argv.data(),
                             /*add_program_dir_to_path=*/false);
}

// Calls `function()` of the terra package's `module` before the script starts (the set-up an
// option asks for). Returns false (with the Python error printed) when that fails.
bool set_up_from_package(const char* module, const char* function, const char* option) {
  try {
    py::module_::import(module).attr(function)();
    return true;
  } catch (py::error_already_set& e) {
    std::cerr << "terra: " << option << " needs the terra package, and setting it up failed:\n";
    e.restore();
    PyErr_Print();
    return false;
  }
}

}  // namespace

int run_command(int argc, char** args) {
  RunOptions opts;
  if (auto status = parse_run_args(argc, args, opts)) return *status;

  // Exported before the interpreter starts so os.environ (and the package) sees it: the package
  // makes CUDA the default device for "cuda", and for "auto" when a GPU is present.
  if (opts.device) {
    setenv("TERRA_DEVICE", opts.device->c_str(), 1);
  } else {
    setenv("TERRA_DEVICE", "auto", /*overwrite=*/0);
  }
  if (std::string(std::getenv("TERRA_DEVICE")) == "cuda" && !cuda::is_available()) {
    std::cerr << "terra: run --device cuda, but there is no CUDA device: " << cuda::unavailable_reason() << "\n";
    return 2;
  }
  // The session reads its options from the environment (trace::options_from_env).
  if (opts.dump_dir) setenv("TERRA_DUMP_GRAPH", opts.dump_dir->c_str(), 1);

  try {
    start_python(opts);
  } catch (const std::exception& e) {
    std::cerr << "terra: could not start Python: " << e.what() << "\n";
    return 1;
  }
  // `import torch` → terra (bindings/terra/_torch_alias.py); then the session, started when terra
  // is imported and stopped by an atexit hook however the script ends (bindings/terra/_tracing.py).
  if (opts.mode != Mode::eager) {
    // The session starts when the program imports terra (bindings/terra/__init__.py reads this;
    // --as-torch imports it right below), so a script that never does runs as plain Python,
    // whatever state the package is in.
    py::dict session;
    session["mode"] = opts.mode == Mode::coexec ? "coexec" : "replay";
    session["explain"] = opts.explain;
    session["actor_trace"] = opts.actor_trace ? py::object(py::str(*opts.actor_trace)) : py::object(py::none());
    py::module_::import("sys").attr("_terra_run_session") = session;
  }
  const bool set_up = !opts.as_torch || set_up_from_package("terra._torch_alias", "install", "--as-torch");
  if (!set_up) {
    Py_FinalizeEx();
    return 1;
  }
  // Runs the script, finalizes the interpreter (atexit, flushing) and gives the exit status.
  return Py_RunMain();
}

}  // namespace terra::cli
