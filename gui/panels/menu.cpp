// The menu bar: set-up file (save / load), language, quit; and the status of the last file action.
#include "gui/lesson_session.h"
#include "gui/state.h"

namespace podlab::gui {

void draw_menu_bar(GuiState& s) {
  const Text& t = s.t;
  if (!ImGui::BeginMenuBar()) return;
  if (ImGui::BeginMenu(label(t(Msg::kMenuFile), "file"))) {
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 18);
    ImGui::InputText(label(t(Msg::kSetupPath), "path"), s.setup_path, sizeof s.setup_path);
    item_tooltip(t(Msg::kTipSetupFile));
    if (ImGui::MenuItem(label(t(Msg::kMenuSave), "save"))) {
      const Status st = save_setup(s.setup, s.setup_path);
      s.setup_message_is_error = !st.ok();
      char buf[600];
      std::snprintf(buf, sizeof buf, t(Msg::kSetupSaved), s.setup_path);
      s.setup_message = st.ok() ? buf : st.message();
    }
    if (ImGui::MenuItem(label(t(Msg::kMenuLoad), "load"))) {
      auto loaded = load_setup(s.setup_path);
      s.setup_message_is_error = !loaded.ok();
      if (loaded.ok()) {
        s.setup = *loaded;
        decompose_model_spec(s.setup.model, s.model_edit);
        s.applied.language = s.setup.language;
        char buf[600];
        std::snprintf(buf, sizeof buf, t(Msg::kSetupLoaded), s.setup_path);
        s.setup_message = buf;
      } else {
        s.setup_message = loaded.status().message();
      }
    }
    ImGui::Separator();
    if (ImGui::MenuItem(label(t(Msg::kMenuQuit), "quit"), "Esc")) s.quit = true;
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu(label(t(Msg::kMenuLanguage), "lang"))) {
    if (ImGui::MenuItem("English", nullptr, s.setup.language == "en")) s.setup.language = s.applied.language = "en";
    // Without a CJK font the Chinese name itself would be unreadable, so it is spelled out too.
    if (ImGui::MenuItem(s.cjk_font ? "中文 (简体)" : "Chinese (zh)", nullptr, s.setup.language == "zh"))
      s.setup.language = s.applied.language = "zh";
    ImGui::EndMenu();
  }
  if (s.lesson && ImGui::BeginMenu(label(t(Msg::kPanelLesson), "lesson"))) {
    const std::string lang = lang_code(t.lang);
    for (const LessonEntry& e : lesson_entries(s, lang)) {
      const std::string item = e.name + "  " + (e.error.empty() ? e.meta.title : e.error);
      if (ImGui::MenuItem(item.c_str(), nullptr, s.lesson_open && e.name == s.lesson_name,
                          e.error.empty() && !s.lesson->busy()))
        open_lesson(s, e.name, lang);
    }
    ImGui::Separator();
    if (ImGui::MenuItem(label(t(Msg::kMenuLessonClose), "close"), nullptr, false, s.lesson_open)) s.lesson_open = false;
    ImGui::EndMenu();
  }
  if (s.setup.language == "zh" && !s.cjk_font) {
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "%s", tr(Lang::kEn, Msg::kFontMissing));
  } else if (!s.setup_message.empty()) {
    ImGui::TextColored(s.setup_message_is_error ? ImVec4(1, 0.45f, 0.45f, 1) : ImVec4(0.6f, 0.9f, 0.6f, 1), "%s",
                       s.setup_message.c_str());
  }
  ImGui::EndMenuBar();
}

}  // namespace podlab::gui
