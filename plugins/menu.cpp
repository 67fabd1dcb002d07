// The Triage menu in Wireshark's menu bar (the plugin menu API): the five
// table statistics, and the HTML report of the open capture file written by
// triage-report with the Triage preferences in force, opened in the desktop's
// browser. tshark registers the menu too and never shows it.
#include "plugins/menu.hpp"

#include <epan/plugin_if.h>
#include <epan/prefs-int.h>
#include <glib/gstdio.h>
#include <wsutil/filesystem.h>

#include <string>
#include <vector>

#include "plugins/ws.hpp"

namespace triage::menu {
namespace {

constexpr const char* kTitle = "Triage report";

// Opens a table statistic's dialog as Wireshark's own "-z <name>" does.
void open_table(ext_menubar_gui_type, gpointer, gpointer data) {
    const char* cli = static_cast<const char*>(data);
    if (process_stat_cmd_arg(cli)) start_requested_stats();
}

// "-o triage.<name>:<value>" for every Triage preference but the tables,
// which tshark reads from the same profile (-C).
guint add_pref(pref_t* pref, gpointer data) {
    auto* args = static_cast<std::vector<std::string>*>(data);
    const int type = prefs_get_type(pref);
    if (type == PREF_UAT || type == PREF_STATIC_TEXT) return 0;
    char* value = prefs_pref_to_str(pref, pref_current);
    if (value) {
        args->push_back("-o");
        args->push_back(std::string("triage.") + prefs_get_name(pref) + ":" + value);
        g_free(value);
    }
    return 0;
}

std::vector<std::string> tshark_options() {
    std::vector<std::string> args;
    if (!is_default_profile()) {
        args.push_back("-C");
        args.push_back(get_profile_name());
    }
    if (module_t* m = prefs_find_module("triage")) prefs_pref_foreach(m, add_pref, &args);
    return args;
}

bool temporary_capture(const std::string& path) {
    // A capture not saved yet lives in the temporary folder as wireshark_<interface>...
    gchar* base = g_path_get_basename(path.c_str());
    gchar* dir = g_path_get_dirname(path.c_str());
    const bool temp = g_str_has_prefix(base, "wireshark_") && g_strcmp0(dir, g_get_tmp_dir()) == 0;
    g_free(base);
    g_free(dir);
    return temp;
}

// triage-report in PATH, else in ~/.local/bin (where a user's install puts it,
// often missing from a desktop session's PATH).
gchar* find_tool() {
    if (gchar* in_path = g_find_program_in_path("triage-report")) return in_path;
    gchar* local = g_build_filename(g_get_home_dir(), ".local", "bin", "triage-report", nullptr);
    if (g_file_test(local, G_FILE_TEST_IS_EXECUTABLE)) return local;
    g_free(local);
    return nullptr;
}

struct Job {
    std::string report, errors;
};

std::string read_errors(const std::string& path) {
    gchar* text = nullptr;
    std::string out;
    if (g_file_get_contents(path.c_str(), &text, nullptr, nullptr) && text) out = text;
    g_free(text);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    constexpr std::size_t kMax = 1500;
    if (out.size() > kMax) out = "..." + out.substr(out.size() - kMax);
    return out;
}

void report_done(GPid pid, gint status, gpointer data) {
    auto* job = static_cast<Job*>(data);
    g_spawn_close_pid(pid);
    GError* error = nullptr;
    if (!g_spawn_check_wait_status(status, &error)) {
        report_failure("%s: triage-report failed (%s):\n%s", kTitle, error ? error->message : "",
                       read_errors(job->errors).c_str());
        g_clear_error(&error);
    } else {
        gchar* opener = g_find_program_in_path("xdg-open");
        if (!opener) {
            report_failure(
                "%s: written to %s\nxdg-open is not installed (package xdg-utils): open the file in a browser.", kTitle,
                job->report.c_str());
        } else {
            gchar* argv[] = {opener, const_cast<gchar*>(job->report.c_str()), nullptr};
            if (!g_spawn_async(nullptr, argv, nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, nullptr, &error)) {
                report_failure("%s: written to %s\nxdg-open did not start: %s", kTitle, job->report.c_str(),
                               error ? error->message : "");
                g_clear_error(&error);
            }
            g_free(opener);
        }
    }
    g_unlink(job->errors.c_str());
    delete job;
}

void write_report(ext_menubar_gui_type, gpointer, gpointer) {
    ws_info_t* info = nullptr;
    plugin_if_get_ws_info(&info);
    if (!info || !info->cf_filename || info->cf_state != FILE_READ_DONE) {
        report_failure("%s: open a capture file first (File > Open). A live capture must be stopped and saved.",
                       kTitle);
        return;
    }
    const std::string capture = info->cf_filename;
    if (temporary_capture(capture)) {
        report_failure("%s: this capture is not saved yet. Save it (File > Save As), then ask again.", kTitle);
        return;
    }
    gchar* tool = find_tool();
    if (!tool) {
        report_failure(
            "%s: the triage-report tool is not installed or not in PATH.\n"
            "Install Triage with its tools (./install.sh), or run: triage-report -o report.html %s",
            kTitle, capture.c_str());
        return;
    }
    gchar* dir = g_build_filename(g_get_user_cache_dir(), "triage", nullptr);
    g_mkdir_with_parents(dir, 0700);
    gchar* base = g_path_get_basename(capture.c_str());
    auto* job = new Job;
    gchar* report = g_build_filename(dir, (std::string(base) + ".html").c_str(), nullptr);
    gchar* errors = g_build_filename(dir, (std::string(base) + ".errors").c_str(), nullptr);
    job->report = report;
    job->errors = errors;
    g_free(report);
    g_free(errors);
    g_free(base);
    g_free(dir);

    // triage-report's stderr goes to a file (read when it ends): a pipe
    // could fill and stall it while Wireshark waits for the exit.
    std::vector<std::string> args = {"/bin/sh",
                                     "-c",
                                     "exec \"$0\" \"$@\" 2>\"$TRIAGE_REPORT_ERRORS\"",
                                     tool,
                                     "-q",
                                     "--title",
                                     "Triage report: " + capture,
                                     "-o",
                                     job->report,
                                     capture,
                                     "--"};
    g_free(tool);
    for (std::string& o : tshark_options()) args.push_back(std::move(o));
    std::vector<gchar*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    gchar** env = g_environ_setenv(g_get_environ(), "TRIAGE_REPORT_ERRORS", job->errors.c_str(), TRUE);
    GPid pid = 0;
    GError* error = nullptr;
    const bool started =
        g_spawn_async(nullptr, argv.data(), env, G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr, &pid, &error);
    g_strfreev(env);
    if (!started) {
        report_failure("%s: triage-report did not start: %s", kTitle, error ? error->message : "");
        g_clear_error(&error);
        delete job;
        return;
    }
    g_child_watch_add(pid, ws::guard<report_done>, job);
}

}  // namespace

void register_menu(int proto) {
    ext_menu_t* m = ext_menubar_register_menu(proto, "Triage", TRUE);
    ext_menubar_add_entry(m, "Handshake RTT", "Handshake RTT percentiles per server, failures counted",
                          ws::guard<open_table>, const_cast<char*>("triage_rtt,table"));
    ext_menubar_add_entry(m, "Outbound Volume", "Bytes sent to each destination, internal and external",
                          ws::guard<open_table>, const_cast<char*>("triage_egress,table"));
    ext_menubar_add_entry(m, "Unwanted Protocols", "Protocols the policy forbids: alerts", ws::guard<open_table>,
                          const_cast<char*>("triage_unwanted,table"));
    ext_menubar_add_entry(m, "TLS Handshakes", "ClientHello to ServerHello and to the client's Finished, per server",
                          ws::guard<open_table>, const_cast<char*>("triage_tls,table"));
    ext_menubar_add_entry(m, "QUIC Handshakes", "QUIC handshake legs per server, Retry and Version Negotiation counted",
                          ws::guard<open_table>, const_cast<char*>("triage_quic,table"));
    ext_menubar_add_separator(m);
    ext_menubar_add_entry(m, "HTML Report of This Capture", "Write triage-report for the open file and open it",
                          ws::guard<write_report>, nullptr);
}

}  // namespace triage::menu
