// fork + execv without a shell (subprocess.h).
#include "src/util/subprocess.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace quest {

Result<int> RunProgram(const std::vector<std::string>& argv, bool stdout_to_stderr) {
  if (argv.empty()) return Status::Error("RunProgram: no program");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return Status::Error("cannot start " + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) {
    if (stdout_to_stderr) dup2(STDERR_FILENO, STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);  // as a shell reports a program it cannot run
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::Error("waiting for " + argv[0] + ": " + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace quest
