// CommandTemplate: a command line whose arguments hold `{name}` placeholders for the
// parameters of a search space (`{{` and `}}` are literal braces), checked once against the
// space and filled for each trial. In a shell command (/bin/sh -c CMD) the values put into CMD
// are single-quoted unless they are plain words or numbers.
//
// Example:
//   knob::CommandTemplate command({"python3", "train.py", "--lr={lr}"}, space);
//   command.expand({{"lr", 0.001}});  // {"python3", "train.py", "--lr=0.001"}
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/param_value.h"
#include "knob/tuner/search_space.h"

namespace knob {

// A parameter's text in the command, from its name and value.
using CommandValueFormatter = std::function<std::string(const std::string&, const ParamValue&)>;

class CommandTemplate {
 public:
  // Throws InvalidArgument for an unclosed '{', or a placeholder that names no parameter of
  // `space` or a conditional one (SearchParam::when: some trials lack it). Values filled into
  // argument `shell_arg` are shell-quoted.
  CommandTemplate(const std::vector<std::string>& argv, const std::vector<SearchParam>& space,
                  std::optional<size_t> shell_arg = std::nullopt);

  // The arguments with every placeholder replaced by format(name, value), by default
  // to_string(value) (Python's str()). InvalidArgument if `params` lacks one.
  std::vector<std::string> expand(const std::map<std::string, ParamValue>& params,
                                  const CommandValueFormatter& format = {}) const;

 private:
  struct Piece {
    bool is_param;
    std::string text;  // literal text or parameter name
  };
  std::vector<std::vector<Piece>> argv_;
  std::optional<size_t> shell_arg_;
};

// `text` with its braces doubled, so a template shows it literally.
std::string escape_placeholders(const std::string& text);

// `text` as one word for /bin/sh: itself when it is made of letters, digits and +-./:=@_,%
// only, else in single quotes.
std::string shell_quote(const std::string& text);

}  // namespace knob
