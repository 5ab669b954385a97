#include "knob/run/command_template.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "knob/core/error.h"

namespace knob {
namespace {

// A word the shell reads as itself: letters, digits and a few punctuation marks.
bool shell_safe(const std::string& text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("+-./:=@_,%", c);
  });
}

}  // namespace

std::string shell_quote(const std::string& text) {
  if (shell_safe(text)) return text;
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string escape_placeholders(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '{' || c == '}') out += c;
  }
  return out;
}

CommandTemplate::CommandTemplate(const std::vector<std::string>& argv,
                                 const std::vector<SearchParam>& space,
                                 std::optional<size_t> shell_arg)
    : shell_arg_(shell_arg) {
  std::set<std::string> names;
  std::string listed;
  for (const auto& p : space) {
    names.insert(p.name);
    listed += (listed.empty() ? "" : ", ") + p.name;
  }
  if (listed.empty()) listed = "none";
  for (const auto& arg : argv) {
    std::vector<Piece> pieces;
    std::string literal;
    for (size_t i = 0; i < arg.size(); ++i) {
      char c = arg[i];
      if ((c == '{' || c == '}') && i + 1 < arg.size() && arg[i + 1] == c) {
        literal += c;
        ++i;
      } else if (c == '{') {
        size_t close = arg.find('}', i + 1);
        KNOB_CHECK(close != std::string::npos, "command", arg,
                   "has a '{' without '}'; placeholders look like {name} and {{ is a literal {");
        std::string name = arg.substr(i + 1, close - i - 1);
        KNOB_CHECK(names.count(name), "command placeholder {" + name + "}", arg,
                   "must name a parameter of the search space (" + listed +
                       "); write {{ and }} for literal braces");
        const auto& param = *std::find_if(space.begin(), space.end(),
                                          [&](const SearchParam& p) { return p.name == name; });
        KNOB_CHECK(param.when.empty(), "command placeholder {" + name + "}", arg,
                   "names a conditional parameter (when ...), which some trials do not have; "
                   "read it from KNOB_PARAMS, which holds the parameters a trial uses");
        if (!literal.empty()) pieces.push_back({false, std::move(literal)});
        literal.clear();
        pieces.push_back({true, name});
        i = close;
      } else {
        literal += c;
      }
    }
    if (!literal.empty() || pieces.empty()) pieces.push_back({false, literal});
    argv_.push_back(std::move(pieces));
  }
}

std::vector<std::string> CommandTemplate::expand(const std::map<std::string, ParamValue>& params,
                                                 const CommandValueFormatter& format) const {
  std::vector<std::string> argv;
  for (size_t i = 0; i < argv_.size(); ++i) {
    std::string arg;
    for (const auto& piece : argv_[i]) {
      if (!piece.is_param) {
        arg += piece.text;
        continue;
      }
      auto it = params.find(piece.text);
      KNOB_CHECK(it != params.end(), "parameter", piece.text, "has no value for the command");
      std::string text = format ? format(piece.text, it->second) : to_string(it->second);
      arg += shell_arg_ == i ? shell_quote(text) : text;
    }
    argv.push_back(std::move(arg));
  }
  return argv;
}

}  // namespace knob
