// The desktop app's main loop (GLFW + OpenGL 3 + Dear ImGui 1.86): set up, then
// poll -> new frame -> draw_frame -> render -> (screenshot) -> swap, capped at --fps, then shut down
// in reverse order. Training runs on TrainingSession's thread; this loop only reads snapshots.
#include <GLFW/glfw3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "backends/imgui_impl_glfw.h"
#include "backends/imgui_impl_opengl3.h"
#include "gui/gui.h"
#include "gui/lesson_session.h"
#include "gui/process_run.h"
#include "gui/state.h"
#include "gui/training_session.h"
#include "imgui.h"
#include <stb_image_write.h>  // implementation inside Debian's libstb

namespace podlab::gui {
namespace {

class GlTextures : public TextureStore {
 public:
  ~GlTextures() override {
    for (auto& [key, id] : ids_) glDeleteTextures(1, &id);
  }
  ImTextureID update(const std::string& key, int w, int h, const uint32_t* rgba) override {
    GLuint& id = ids_[key];
    if (!id) {
      glGenTextures(1, &id);
      glBindTexture(GL_TEXTURE_2D, id);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    }
    glBindTexture(GL_TEXTURE_2D, id);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(id));
  }

 private:
  std::map<std::string, GLuint> ids_;
};

// Debian packages with a CJK font, best first: the path and the face index for Simplified Chinese.
struct FontCandidate {
  const char* path;
  int face;
};
constexpr FontCandidate kCjkFonts[] = {
    {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2},  // fonts-noto-cjk (face 2: SC)
    {"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0},          // fonts-wqy-microhei
    {"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0},            // fonts-wqy-zenhei
};

bool file_exists(const char* path) {
  if (FILE* f = std::fopen(path, "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

// The text of every Chinese lesson, so the font atlas holds the glyphs the lesson panel shows.
std::string chinese_lesson_text(const std::string& lessons_dir) {
  std::string text;
  for (const std::string& path : lesson_files(lessons_dir, "zh")) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  return text;
}

// Loads a CJK font with exactly the glyphs the UI text and the lessons use (a small atlas that builds
// fast), or ImGui's built-in font. Returns true when Chinese can be shown.
bool load_fonts(float scale, const std::string& lessons_dir) {
  ImGuiIO& io = ImGui::GetIO();
  const char* env = std::getenv("PODLAB_CJK_FONT");
  for (const FontCandidate& c : kCjkFonts) {
    const char* path = env && *env ? env : c.path;
    if (!file_exists(path)) {
      if (env && *env) break;
      continue;
    }
    static ImVector<ImWchar> ranges;  // must outlive the atlas build
    ranges.clear();
    ImFontGlyphRangesBuilder builder;
    builder.AddRanges(io.Fonts->GetGlyphRangesDefault());
    builder.AddText(all_text(Lang::kZh));
    builder.AddText("中文 (简体)");
    builder.AddText(chinese_lesson_text(lessons_dir).c_str());
    builder.BuildRanges(&ranges);
    ImFontConfig cfg;
    cfg.FontNo = env && *env ? 0 : c.face;
    cfg.OversampleH = 1;
    if (io.Fonts->AddFontFromFileTTF(path, std::round(16.0f * scale), &cfg, ranges.Data)) return true;
    if (env && *env) break;
  }
  ImFontConfig cfg;
  cfg.SizePixels = std::round(13.0f * scale);
  io.Fonts->AddFontDefault(&cfg);
  return false;
}

// Frame-time statistics for --stats.
struct FrameStats {
  std::vector<double> frame_ms, work_ms;  // since the last print
  double ui_ms = 0, gl_ms = 0, swap_ms = 0;  // sums over the whole run: ImGui build, GL draw calls, swap
  int parts = 0;
  std::vector<double> all_frame_ms, all_work_ms;
  double t_print = 0;
  static double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
  static double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / v.size();
  }
  static void print(const char* what, const std::vector<double>& f, const std::vector<double>& w,
                    const TrainingStatus& st) {
    const double mf = mean(f);
    std::fprintf(stderr,
                 "gui-stats %s: fps %.1f frame_ms mean %.2f p95 %.2f max %.2f | work_ms mean %.2f p95 %.2f "
                 "max %.2f | step %lld samples/s %.0f\n",
                 what, mf > 0 ? 1000.0 / mf : 0, mf, percentile(f, 0.95), percentile(f, 1.0), mean(w),
                 percentile(w, 0.95), percentile(w, 1.0), static_cast<long long>(st.step), st.samples_per_s);
  }
};

bool write_screenshot(const std::string& path, int w, int h) {
  std::vector<unsigned char> px(static_cast<size_t>(w) * h * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  stbi_flip_vertically_on_write(1);
  const std::string tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), w, h, 4, px.data(), w * 4)) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// ImGui 1.86's GLFW backend keeps key state only, so a press and release within one frame (a quick
// tap, or xdotool) never shows as pressed. This callback latches the two keys the app acts on; the
// backend chains to it from its own callback.
struct KeyLatch {
  bool escape = false, space = false;
};
void key_callback(GLFWwindow* w, int key, int, int action, int) {
  auto* latch = static_cast<KeyLatch*>(glfwGetWindowUserPointer(w));
  if (!latch || action != GLFW_PRESS) return;
  if (key == GLFW_KEY_ESCAPE) latch->escape = true;
  if (key == GLFW_KEY_SPACE) latch->space = true;
}

void glfw_error(int code, const char* text) { std::fprintf(stderr, "podlab: glfw error %d: %s\n", code, text); }

}  // namespace

bool display_available() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x && *x) || (w && *w);
}

int run_gui(const GuiOptions& o) {
  GuiSetup setup;
  if (!o.setup_file.empty()) {
    auto loaded = load_setup(o.setup_file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "podlab: error: %s\n", loaded.status().message().c_str());
      return loaded.status().exit_code();
    }
    setup = *loaded;
  }
  if (!o.language.empty()) setup.language = o.language;
  if (o.limit_train >= 0) setup.limit_train = o.limit_train;
  if (Status st = validate_setup(setup); !st.ok()) {
    std::fprintf(stderr, "podlab: error: %s\n", st.message().c_str());
    return st.exit_code();
  }
  if (o.lesson_run && o.lesson.empty()) {
    std::fprintf(stderr, "podlab: error: --lesson-run runs the steps of the lesson given with --lesson NAME\n");
    return 2;
  }
  const std::string lessons_dir = find_lessons_dir("");
  std::string lesson_path;
  if (!o.lesson.empty()) {
    lesson_path = resolve_lesson_path(o.lesson, lessons_dir, setup.language);
    if (lesson_path.empty()) {
      std::fprintf(stderr, "podlab: error: --lesson %s: no such file, and no lesson of that name in %s/%s (`podlab lesson list --lang %s` shows them)\n",
                   o.lesson.c_str(), lessons_dir.c_str(), setup.language.c_str(), setup.language.c_str());
      return 2;
    }
    Result<Lesson> lesson = load_lesson(lesson_path);
    if (!lesson.ok()) {
      std::fprintf(stderr, "podlab: error: %s\n", lesson.status().message().c_str());
      return lesson.status().exit_code();
    }
    if (o.language.empty()) setup.language = lesson->meta.language;  // a Chinese lesson opens the Chinese UI
  }
  Tab first_tab = Tab::kTraining;
  if (!o.panel.empty() && !parse_tab(o.panel, &first_tab)) {
    std::fprintf(stderr, "podlab: error: --panel %s: unknown panel (one of %s)\n", o.panel.c_str(), tab_names());
    return 2;
  }

  glfwSetErrorCallback(glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr,
                 "podlab: error: cannot open a window (no X11 display?). Run it on a desktop, or headless "
                 "under `xvfb-run -a -s \"-screen 0 1280x800x24\" podlab gui`\n");
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GL_TRUE);
  GLFWwindow* window = glfwCreateWindow(o.width, o.height, "podlab", nullptr, nullptr);
  if (!window) {
    std::fprintf(stderr, "podlab: error: cannot create a %dx%d OpenGL 3.3 window (is libgl1-mesa-dri installed?)\n",
                 o.width, o.height);
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(o.fps > 0 ? 1 : 0);

  float xscale = 1, yscale = 1;
  glfwGetWindowContentScale(window, &xscale, &yscale);
  const float scale = std::clamp(std::max(xscale, yscale), 1.0f, 4.0f);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  ImGui::StyleColorsDark();
  ImGui::GetStyle().ScaleAllSizes(scale);
  const bool cjk = load_fonts(scale, lessons_dir);
  KeyLatch keys;
  glfwSetWindowUserPointer(window, &keys);
  glfwSetKeyCallback(window, key_callback);  // before the backend installs its own, which chains to this
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 150");

  int exit_code = 0;
  std::string ckpt_dir;  // the Cluster tab's processes checkpoints, removed at exit
  {
    GlTextures textures;
    SnapshotExchange exchange;
    SessionOptions so;
    so.data_dir = o.data_dir;
    TrainingSession session(exchange, so);
    ClusterSession cluster;
    ProcessRun processes, k8s_apply;
    LessonSession lesson("", o.data_dir);  // declared before GuiState: stopped after the panel is gone
    GuiState s;
    s.lesson = &lesson;
    s.lessons_dir = lessons_dir;
    s.cluster = &cluster;
    s.processes = &processes;
    s.k8s_apply = &k8s_apply;
    s.kubectl_path = find_kubectl_path();
    s.cjk_font = cjk;
    s.session = &session;
    s.exchange = &exchange;
    s.textures = &textures;
    s.selected = first_tab;
    s.cluster_epochs = o.cluster_epochs;
    s.select_tab_once = true;
    apply_setup(s, setup);
    if (!lesson_path.empty()) {
      if (!open_lesson(s, lesson_path, setup.language))
        std::fprintf(stderr, "podlab: error: %s\n", s.lesson_message.c_str());
      else if (o.lesson_run)
        lesson.run(0, static_cast<int>(lesson.lesson()->steps.size()) - 1, false);
    }

    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto period = o.fps > 0 ? std::chrono::duration<double>(1.0 / o.fps) : std::chrono::duration<double>(0);
    auto next_frame = t0;
    auto last_frame = t0;
    FrameStats stats;
    int frame = 0, frames_since_play = 0;
    bool played = false, announced = false, cluster_started = false;
    for (;;) {
      const auto frame_start = Clock::now();
      glfwPollEvents();
      if (glfwWindowShouldClose(window) || s.quit) break;
      ImGui_ImplOpenGL3_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      ImGui::NewFrame();
      if (keys.escape) s.quit = true;
      s.space_tapped = keys.space;
      keys = KeyLatch{};
      draw_frame(s);
      ImGui::Render();
      const auto t_ui = Clock::now();
      int fw = 0, fh = 0;
      glfwGetFramebufferSize(window, &fw, &fh);
      glViewport(0, 0, fw, fh);
      const ImVec4 bg = ImGui::GetStyleColorVec4(ImGuiCol_WindowBg);  // the main window draws no background
      glClearColor(bg.x, bg.y, bg.z, 1.0f);
      glClear(GL_COLOR_BUFFER_BIT);
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
      if (o.stats) glFinish();  // so the split below charges rasterising to GL, not to the swap
      const auto t_gl = Clock::now();

      ++frame;
      if (played) ++frames_since_play;
      if (o.cluster && !cluster_started && s.view.status.data) {
        const Status st = cluster.start(s.setup, s.view.status.data, LinkModel{}, o.cluster_epochs);
        if (!st.ok()) std::fprintf(stderr, "podlab: error: cluster: %s\n", st.message().c_str());
        cluster_started = true;
      }
      if (o.cluster_processes && !cluster_started) {
        s.cluster_as_processes = true;
        start_cluster_processes(s);
        if (!s.cluster_message.empty()) std::fprintf(stderr, "podlab: error: cluster: %s\n", s.cluster_message.c_str());
        cluster_started = true;
      }
      if (o.train && !played && s.view.status.phase == "ready") {
        session.set_running(true);
        played = true;
      }
      const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      const bool last = (o.frames > 0 && (o.train ? frames_since_play : frame) >= o.frames) ||
                        (o.timeout_s > 0 && elapsed >= o.timeout_s) || s.quit;
      if (last && !o.screenshot.empty()) {
        if (write_screenshot(o.screenshot, fw, fh)) {
          std::fprintf(stdout, "SCREENSHOT %s %dx%d\n", o.screenshot.c_str(), fw, fh);
        } else {
          std::fprintf(stderr, "podlab: error: cannot write screenshot %s\n", o.screenshot.c_str());
          exit_code = 5;
        }
      }
      glfwSwapBuffers(window);
      if (o.stats) {
        stats.ui_ms += std::chrono::duration<double, std::milli>(t_ui - frame_start).count();
        stats.gl_ms += std::chrono::duration<double, std::milli>(t_gl - t_ui).count();
        stats.swap_ms += std::chrono::duration<double, std::milli>(Clock::now() - t_gl).count();
        ++stats.parts;
      }
      if (frame == 2 && !announced) {
        // For scripted tests (xdotool): where to click, in window coordinates.
        std::fprintf(stdout, "READY play=%d,%d\n", static_cast<int>(s.play_button_x), static_cast<int>(s.play_button_y));
        std::fflush(stdout);
        announced = true;
      }

      const auto now = Clock::now();
      if (o.stats && frame > 1) {
        stats.frame_ms.push_back(std::chrono::duration<double, std::milli>(now - last_frame).count());
        stats.work_ms.push_back(std::chrono::duration<double, std::milli>(now - frame_start).count());
        if (elapsed - stats.t_print >= 1.0) {
          FrameStats::print("1s", stats.frame_ms, stats.work_ms, s.view.status);
          stats.all_frame_ms.insert(stats.all_frame_ms.end(), stats.frame_ms.begin(), stats.frame_ms.end());
          stats.all_work_ms.insert(stats.all_work_ms.end(), stats.work_ms.begin(), stats.work_ms.end());
          stats.frame_ms.clear();
          stats.work_ms.clear();
          stats.t_print = elapsed;
        }
      }
      last_frame = now;
      if (last) break;
      if (o.fps > 0) {
        next_frame += std::chrono::duration_cast<Clock::duration>(period);
        if (next_frame < now) next_frame = now;  // we fell behind: don't try to catch up
        std::this_thread::sleep_until(next_frame);
      }
    }
    if (o.stats) {
      stats.all_frame_ms.insert(stats.all_frame_ms.end(), stats.frame_ms.begin(), stats.frame_ms.end());
      stats.all_work_ms.insert(stats.all_work_ms.end(), stats.work_ms.begin(), stats.work_ms.end());
      FrameStats::print("total", stats.all_frame_ms, stats.all_work_ms, s.view.status);
      const double n = std::max(1, stats.parts);
      std::fprintf(stderr, "gui-stats split: ui+imgui %.2f ms, gl draw %.2f ms, swap+screenshot %.2f ms per frame (means)\n",
                   stats.ui_ms / n, stats.gl_ms / n, stats.swap_ms / n);
      std::fprintf(stderr, "gui-stats snapshots: %llu publish attempts, %llu found the UI reading\n",
                   static_cast<unsigned long long>(exchange.publish_attempts()),
                   static_cast<unsigned long long>(exchange.publish_misses()));
    }
    std::fprintf(stdout, "EXIT frames=%d step=%lld phase=%s\n", frame, static_cast<long long>(s.view.status.step),
                 s.view.status.phase.c_str());
    std::fflush(stdout);
    ckpt_dir = s.cluster_ckpt_dir;
    // session's destructor stops training before the GL context goes away; the process runs end
    // their children.
  }
  std::error_code ec;
  if (!ckpt_dir.empty()) std::filesystem::remove_all(ckpt_dir, ec);
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return exit_code;
}

}  // namespace podlab::gui
