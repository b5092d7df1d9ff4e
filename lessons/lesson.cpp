// Lesson parsing. The front matter (`---` key: value lines `---`) is split off first; the rest goes
// through md4c, which finds headings and fenced code blocks exactly as a CommonMark renderer would.
// md4c reports no line numbers, but the text it hands back points into our buffer for fence info
// strings and code lines, so lines are computed from those pointers.
#include "lessons/lesson.h"

#include <md4c.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace podlab {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

struct FrontMatter {
  LessonMeta meta;
  size_t body_offset = 0;  // where the Markdown body starts in the text
};

Result<FrontMatter> parse_front_matter(const std::string& text, const std::string& path) {
  auto err = [&](int line, const std::string& m) {
    return Status::Config(path + ":" + std::to_string(line) + ": " + m);
  };
  if (!starts_with(text, "---\n") && !starts_with(text, "---\r\n"))
    return err(1,
               "a lesson starts with front matter: a '---' line, then title, language, level, duration and "
               "dataset as 'key: value' lines, then '---' (see lessons/README.md)");
  FrontMatter fm;
  std::set<std::string> seen;
  size_t pos = text.find('\n') + 1;
  int line = 2;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string raw = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (raw == "---") {
      fm.body_offset = std::min(pos, text.size());
      for (const char* key : {"title", "language", "level", "duration", "dataset"})
        if (!seen.count(key)) return err(1, std::string("the front matter has no '") + key + ":' line");
      return fm;
    }
    if (!raw.empty() && raw[0] != '#') {
      const size_t colon = raw.find(':');
      if (colon == std::string::npos)
        return err(line,
                   "expected 'key: value' in the front matter, found '" + raw + "' (is the closing '---' missing?)");
      const std::string key = trim(raw.substr(0, colon));
      std::string value = trim(raw.substr(colon + 1));
      if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0])
        value = value.substr(1, value.size() - 2);
      if (!seen.insert(key).second) return err(line, "'" + key + "' is given twice");
      if (value.empty()) return err(line, "'" + key + "' has no value");
      if (key == "title")
        fm.meta.title = value;
      else if (key == "duration")
        fm.meta.duration = value;
      else if (key == "language") {
        if (value != "en" && value != "zh") return err(line, "language must be en or zh, not '" + value + "'");
        fm.meta.language = value;
      } else if (key == "level") {
        if (value != "beginner" && value != "intermediate" && value != "advanced")
          return err(line, "level must be beginner, intermediate or advanced, not '" + value + "'");
        fm.meta.level = value;
      } else if (key == "dataset") {
        if (value != "fashion-mnist" && value != "mnist" && value != "none")
          return err(line, "dataset must be fashion-mnist, mnist or none, not '" + value + "'");
        fm.meta.dataset = value;
      } else {
        return err(line, "unknown front matter key '" + key + "' (known: title, language, level, duration, dataset)");
      }
    }
    ++line;
  }
  return err(1, "the front matter is not closed: add a '---' line after its last 'key: value' line");
}

// Collects what md4c reports; the blocks are interpreted after parsing, in document order.
struct CodeBlock {
  std::string lang, attrs;  // the info string's first word, and the rest
  std::vector<std::string> lines;
  std::vector<int> line_numbers;  // of each content line
  int line = 0;                   // of the opening fence
  size_t begin = 0, end = 0;      // source range including both fences
  std::string heading;            // the closest heading above
};

struct Collector {
  const std::string* text = nullptr;
  std::vector<CodeBlock> blocks;
  std::string heading, heading_text;
  bool in_heading = false, in_code = false;
  char fence_char = 0;
  CodeBlock cur;
  std::string line_buf;
  int line_buf_number = 0;

  bool inside(const MD_CHAR* p) const { return p >= text->data() && p < text->data() + text->size(); }
  size_t offset(const MD_CHAR* p) const { return static_cast<size_t>(p - text->data()); }
  int line_of(size_t off) const { return 1 + static_cast<int>(std::count(text->begin(), text->begin() + off, '\n')); }
  size_t line_start(size_t off) const {
    while (off > 0 && (*text)[off - 1] != '\n') --off;
    return off;
  }
  size_t offset_of_line(int line) const {  // 1-based
    size_t off = 0;
    for (int l = 1; l < line; ++l) {
      const size_t nl = text->find('\n', off);
      if (nl == std::string::npos) return text->size();
      off = nl + 1;
    }
    return off;
  }
  // The end (past the newline) of the closing fence on a line after the one holding `from`, or the end of the text.
  size_t closing_fence_end(size_t from) const {
    size_t pos = text->find('\n', from);
    while (pos != std::string::npos && pos + 1 < text->size()) {
      size_t p = pos + 1;
      size_t q = p;
      while (q < text->size() && (*text)[q] == ' ') ++q;
      size_t n = 0;
      while (q + n < text->size() && (*text)[q + n] == fence_char) ++n;
      const size_t eol = text->find('\n', p);
      if (n >= 3 && trim(text->substr(q + n, (eol == std::string::npos ? text->size() : eol) - q - n)).empty())
        return eol == std::string::npos ? text->size() : eol + 1;
      pos = eol;
    }
    return text->size();
  }
};

int enter_block(MD_BLOCKTYPE type, void* detail, void* user) {
  auto& c = *static_cast<Collector*>(user);
  if (type == MD_BLOCK_H) {
    c.in_heading = true;
    c.heading_text.clear();
  } else if (type == MD_BLOCK_CODE) {
    auto* d = static_cast<MD_BLOCK_CODE_DETAIL*>(detail);
    c.in_code = true;
    c.cur = CodeBlock{};
    c.fence_char = d->fence_char;
    c.line_buf.clear();
    c.line_buf_number = 0;
    c.cur.heading = c.heading;
    const std::string info(d->info.text ? d->info.text : "", d->info.size);
    const std::string lang(d->lang.text ? d->lang.text : "", d->lang.size);
    c.cur.lang = d->fence_char ? lang : "";
    c.cur.attrs = trim(info.substr(std::min(info.size(), lang.size())));
    if (d->info.size > 0 && c.inside(d->info.text)) {
      c.cur.begin = c.line_start(c.offset(d->info.text));
      c.cur.line = c.line_of(c.cur.begin);
    }
  }
  return 0;
}

int leave_block(MD_BLOCKTYPE type, void*, void* user) {
  auto& c = *static_cast<Collector*>(user);
  if (type == MD_BLOCK_H) {
    c.in_heading = false;
    c.heading = trim(c.heading_text);
  } else if (type == MD_BLOCK_CODE) {
    c.in_code = false;
    if (!c.line_buf.empty()) {
      c.cur.lines.push_back(c.line_buf);
      c.cur.line_numbers.push_back(c.line_buf_number);
    }
    if (c.cur.line == 0 && !c.cur.line_numbers.empty() && c.cur.line_numbers[0] > 1) {
      // The info string held an escape, so md4c copied it; the fence is the line above the content.
      c.cur.line = c.cur.line_numbers[0] - 1;
      c.cur.begin = c.offset_of_line(c.cur.line);
    }
    if (c.cur.line > 0) {
      const size_t last_line = c.cur.line_numbers.empty() ? c.cur.begin : c.offset_of_line(c.cur.line_numbers.back());
      c.cur.end = c.closing_fence_end(last_line);
      c.blocks.push_back(c.cur);
    }
  }
  return 0;
}

int on_text(MD_TEXTTYPE type, const MD_CHAR* text, MD_SIZE size, void* user) {
  auto& c = *static_cast<Collector*>(user);
  if (c.in_heading) {
    c.heading_text.append(text, size);
  } else if (c.in_code && type == MD_TEXT_CODE) {
    if (size == 1 && text[0] == '\n') {
      c.cur.lines.push_back(c.line_buf);
      c.cur.line_numbers.push_back(c.line_buf_number);
      c.line_buf.clear();
      c.line_buf_number = 0;
      return 0;
    }
    if (c.line_buf_number == 0) {
      c.line_buf_number = c.inside(text)
                              ? c.line_of(c.offset(text))
                              : (c.cur.line_numbers.empty() ? c.cur.line + 1 : c.cur.line_numbers.back() + 1);
    }
    c.line_buf.append(text, size);
  }
  return 0;
}

int on_span(MD_SPANTYPE, void*, void*) { return 0; }

// Parses `key=value` pairs of a fence's info string; values may be "double-quoted".
Status parse_attrs(const std::string& attrs, Step& step, const std::string& where) {
  size_t i = 0;
  while (i < attrs.size()) {
    while (i < attrs.size() && std::isspace(static_cast<unsigned char>(attrs[i]))) ++i;
    if (i >= attrs.size()) break;
    const size_t eq = attrs.find('=', i);
    if (eq == std::string::npos)
      return Status::Config(where + "expected key=value after ```podlab (keys: fast, timeout, panel), found '" +
                            attrs.substr(i) + "'");
    const std::string key = trim(attrs.substr(i, eq - i));
    std::string value;
    i = eq + 1;
    if (i < attrs.size() && attrs[i] == '"') {
      const size_t close = attrs.find('"', i + 1);
      if (close == std::string::npos) return Status::Config(where + "the value of '" + key + "' has no closing quote");
      value = attrs.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      const size_t sp = attrs.find(' ', i);
      value = attrs.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
      i = sp == std::string::npos ? attrs.size() : sp;
    }
    if (key == "fast") {
      Result<std::vector<std::string>> words = split_command(value);
      if (!words.ok()) return Status::Config(where + "fast=\"...\": " + words.status().message());
      step.fast_args = *words;
    } else if (key == "timeout") {
      char* end = nullptr;
      const long t = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || t < 1 || t > 3600)
        return Status::Config(where + "timeout must be a whole number of seconds in 1..3600, not '" + value + "'");
      step.timeout_s = static_cast<int>(t);
    } else if (key == "panel") {
      if (value.empty()) return Status::Config(where + "panel= needs a panel name");
      step.panel = value;
    } else {
      return Status::Config(where + "unknown attribute '" + key + "' (known: fast, timeout, panel)");
    }
  }
  return Status::Ok();
}

Status make_step(const CodeBlock& b, const std::string& path, Step& step) {
  const std::string where = path + ":" + std::to_string(b.line) + ": ";
  step.line = b.line;
  step.heading = b.heading;
  PODLAB_RETURN_IF_ERROR(parse_attrs(b.attrs, step, where));
  std::vector<std::string> commands;
  std::string pending;
  for (const std::string& raw : b.lines) {
    std::string l = trim(raw);
    if (l.empty() && pending.empty()) continue;
    if (!l.empty() && l.back() == '\\') {
      pending += l.substr(0, l.size() - 1) + " ";
      continue;
    }
    commands.push_back(trim(pending + l));
    pending.clear();
  }
  if (!pending.empty()) commands.push_back(trim(pending));
  if (commands.empty()) return Status::Config(where + "this ```podlab block is empty; it needs one podlab command");
  if (commands.size() > 1)
    return Status::Config(where + "a ```podlab block holds one command; this one has " +
                          std::to_string(commands.size()) + " (split it into one block per command)");
  step.command = commands[0];
  Result<std::vector<std::string>> words = split_command(step.command);
  if (!words.ok()) return Status::Config(where + words.status().message());
  if (words->empty() || (*words)[0] != "podlab")
    return Status::Config(where + "the command must start with 'podlab', found '" + step.command + "'");
  if (words->size() < 2) return Status::Config(where + "'podlab' needs a subcommand (train, cluster run, ...)");
  step.args.assign(words->begin() + 1, words->end());
  step.gui = step.args[0] == "gui";
  return Status::Ok();
}

Status add_checks(const CodeBlock& b, const std::string& path, Step& step) {
  int added = 0;
  for (size_t i = 0; i < b.lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(b.line_numbers[i]) + ": ";
    std::string l = trim(b.lines[i]);
    if (l.empty() || l[0] == '#') continue;
    Check check;
    check.line = b.line_numbers[i];
    const size_t hash = l.find('#');
    if (hash != std::string::npos) {
      check.note = trim(l.substr(hash + 1));
      l = trim(l.substr(0, hash));
    }
    if (starts_with(l, "fast:")) {
      check.mode = CheckMode::kFast;
      l = trim(l.substr(5));
    } else if (starts_with(l, "normal:")) {
      check.mode = CheckMode::kNormal;
      l = trim(l.substr(7));
    }
    Result<Expression> e = Expression::parse(l);
    if (!e.ok()) return Status::Config(where + "check '" + l + "': " + e.status().message());
    if (!e->is_condition())
      return Status::Config(where + "check '" + l + "' is a number, not a condition (compare it: e.g. '" + l +
                            " > 0')");
    check.expression = *e;
    step.checks.push_back(std::move(check));
    ++added;
  }
  if (added == 0) return Status::Config(path + ":" + std::to_string(b.line) + ": this ```check block holds no checks");
  return Status::Ok();
}

Status make_quiz(const CodeBlock& b, const std::string& path, Quiz& quiz) {
  quiz.line = b.line;
  bool in_explanation = false;
  for (size_t i = 0; i < b.lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(b.line_numbers[i]) + ": ";
    const std::string l = trim(b.lines[i]);
    if (l.empty()) continue;
    if (starts_with(l, "- [x]") || starts_with(l, "- [X]") || starts_with(l, "- [ ]")) {
      if (in_explanation) return Status::Config(where + "options come before 'explain:'");
      quiz.options.push_back({trim(l.substr(5)), l[3] != ' '});
    } else if (starts_with(l, "explain:")) {
      in_explanation = true;
      quiz.explanation = trim(l.substr(8));
    } else if (in_explanation) {
      quiz.explanation += (quiz.explanation.empty() ? "" : " ") + l;
    } else if (quiz.options.empty()) {
      quiz.question += (quiz.question.empty() ? "" : " ") + l;
    } else {
      return Status::Config(where + "expected an option ('- [x] right' or '- [ ] wrong') or 'explain:', found '" + l +
                            "'");
    }
  }
  const std::string where = path + ":" + std::to_string(b.line) + ": ";
  if (quiz.question.empty()) return Status::Config(where + "the quiz has no question");
  if (quiz.options.size() < 2)
    return Status::Config(where + "a quiz needs at least two options ('- [x] ...', '- [ ] ...')");
  if (std::none_of(quiz.options.begin(), quiz.options.end(), [](const QuizOption& o) { return o.correct; }))
    return Status::Config(where + "no option is marked right: mark it '- [x]'");
  return Status::Ok();
}

}  // namespace

std::vector<std::string> Step::run_args(bool fast) const {
  std::vector<std::string> out = args;
  if (fast) out.insert(out.end(), fast_args.begin(), fast_args.end());
  return out;
}

int Lesson::check_count(bool fast) const {
  int n = 0;
  for (const Step& s : steps)
    for (const Check& c : s.checks) n += c.mode == CheckMode::kBoth || (c.mode == CheckMode::kFast) == fast;
  return n;
}

Result<std::vector<std::string>> split_command(const std::string& command) {
  std::vector<std::string> words;
  std::string cur;
  bool have = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\'' || c == '"') {
      const size_t close = command.find(c, i + 1);
      if (close == std::string::npos)
        return Status::Config(std::string("unclosed ") + c + " quote in '" + command + "'");
      cur += command.substr(i + 1, close - i - 1);
      have = true;
      i = close;
    } else if (c == '\\') {
      if (i + 1 >= command.size()) return Status::Config("a backslash ends '" + command + "'");
      cur += command[++i];
      have = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (have) words.push_back(cur);
      cur.clear();
      have = false;
    } else if (std::string("|&;<>$`(){}").find(c) != std::string::npos) {
      return Status::Config(std::string("'") + c +
                            "' is shell syntax; a step runs one podlab command, not a shell line: '" + command + "'");
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) words.push_back(cur);
  return words;
}

Result<Lesson> load_lesson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::Io("cannot read lesson " + path + " (check the path; `podlab lesson list` shows the lessons)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_lesson(ss.str(), path);
}

Result<Lesson> parse_lesson(const std::string& text, const std::string& path) {
  Result<FrontMatter> fm = parse_front_matter(text, path);
  if (!fm.ok()) return fm.status();
  Lesson lesson;
  lesson.path = path;
  lesson.meta = fm->meta;

  Collector c;
  c.text = &text;
  MD_PARSER parser{};
  parser.abi_version = 0;
  parser.flags = MD_DIALECT_GITHUB;
  parser.enter_block = enter_block;
  parser.leave_block = leave_block;
  parser.enter_span = on_span;
  parser.leave_span = on_span;
  parser.text = on_text;
  const size_t body = fm->body_offset;
  if (md_parse(text.data() + body, static_cast<MD_SIZE>(text.size() - body), &parser, &c) != 0)
    return Status::Config(path + ": the Markdown parser failed (out of memory?)");

  size_t prose_from = body;
  std::string prose;
  for (const CodeBlock& b : c.blocks) {
    if (b.lang != "podlab" && b.lang != "check" && b.lang != "quiz") continue;
    prose += text.substr(prose_from, b.begin - prose_from);
    prose_from = b.end;
    if (b.lang == "podlab") {
      Step step;
      PODLAB_RETURN_IF_ERROR(make_step(b, path, step));
      step.prose = prose;
      prose.clear();
      lesson.steps.push_back(std::move(step));
    } else if (b.lang == "check") {
      const std::string where = path + ":" + std::to_string(b.line) + ": ";
      if (lesson.steps.empty())
        return Status::Config(where + "a ```check block must follow the ```podlab block whose results it checks");
      if (lesson.steps.back().gui)
        return Status::Config(where + "a GUI set-up step has no results to check; checks follow a podlab command");
      PODLAB_RETURN_IF_ERROR(add_checks(b, path, lesson.steps.back()));
    } else {
      Quiz quiz;
      PODLAB_RETURN_IF_ERROR(make_quiz(b, path, quiz));
      quiz.after_step = static_cast<int>(lesson.steps.size()) - 1;
      lesson.quizzes.push_back(std::move(quiz));
    }
  }
  lesson.closing_prose = prose + text.substr(std::min(prose_from, text.size()));
  if (lesson.steps.empty())
    return Status::Config(path + ":" + std::to_string(c.line_of(body)) + ": the lesson has no ```podlab block to run");
  return lesson;
}

}  // namespace podlab
