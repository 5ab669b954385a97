#include "knob/core/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "knob/core/error.h"

namespace knob {
namespace {

[[noreturn]] void throw_write_error(const std::string& field, const std::string& path,
                                    const std::string& doing, int error) {
  throw Error(field + " = \"" + path + "\": cannot " + doing + ": " + std::strerror(error));
}

// Writes all of `bytes` to `fd`, retrying short writes and EINTR; returns 0 or the errno.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string parent_directory(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A file that is not a regular one (a device, a pipe) cannot be replaced: write it in place.
void write_in_place(const std::string& path, std::string_view bytes, const std::string& field) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw_write_error(field, path, "open it for writing", errno);
  int error = write_all(fd, bytes);
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) throw_write_error(field, path, "write it", error);
}

}  // namespace

std::string read_text_file(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  KNOB_CHECK(in.good(), field, path, "must be a readable file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void write_file_atomically(const std::string& path, std::string_view bytes,
                           const std::string& field, const std::vector<std::string>& keep) {
  KNOB_CHECK(!path.empty(), field, path, "must be a file path");
  for (const auto& kept : keep) {
    KNOB_CHECK(!same_file(path, kept), field, path,
               "is the same file as " + kept + ", which knob reads from; choose another file");
  }
  struct stat existing {};
  bool exists = ::stat(path.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode)) {
    throw_invalid(field, path, "must be a file path, not a directory");
  }
  if (exists && !S_ISREG(existing.st_mode)) return write_in_place(path, bytes, field);

  // Replace the file a symbolic link points at, not the link.
  std::string target = path;
  if (exists) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved != nullptr) {
      target = resolved;
      std::free(resolved);
    }
  }
  const std::string dir = parent_directory(target);
  struct stat dir_stat {};
  KNOB_CHECK(::stat(dir.c_str(), &dir_stat) == 0 && S_ISDIR(dir_stat.st_mode), field, path,
             "must be a file path in an existing directory (" + dir + " does not exist)");

  std::string temp = target + ".XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) throw_write_error(field, path, "create a file in " + dir, errno);
  // mkstemp makes the file 0600: give it the mode the old file had, or what a new file gets.
  mode_t mode = 0;
  if (exists) {
    mode = existing.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  int error = ::fchmod(fd, mode) == 0 ? 0 : errno;
  std::string doing = "set the mode of " + temp;
  if (error == 0) {
    error = write_all(fd, bytes);
    doing = "write it";
  }
  if (error == 0 && ::fsync(fd) != 0) {
    error = errno;
    doing = "flush it to disk";
  }
  if (::close(fd) != 0 && error == 0) {
    error = errno;
    doing = "close it";
  }
  if (error == 0 && ::rename(temp.c_str(), target.c_str()) != 0) {
    error = errno;
    doing = "rename " + temp + " to it";
  }
  if (error != 0) {
    ::unlink(temp.c_str());
    throw_write_error(field, path, doing, error);
  }
}

}  // namespace knob
