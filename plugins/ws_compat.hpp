// Every difference between the Wireshark versions Triage builds against
// (4.0, 4.4, 4.6), keyed on the version CMake found (TRIAGE_WS_MAJOR/MINOR).
// Included by ws.hpp after Wireshark's headers; nothing else tests versions.
#pragma once

#define TRIAGE_WS_AT_LEAST(major, minor) \
    (TRIAGE_WS_MAJOR > (major) || (TRIAGE_WS_MAJOR == (major) && TRIAGE_WS_MINOR >= (minor)))

#if TRIAGE_WS_AT_LEAST(4, 2)
#include <wsutil/plugins.h>  // plugin_describe(), WS_PLUGIN_DESC_* (not installed by 4.0)
#endif

namespace triage::ws {

// 4.4 moved Wireshark's API from GLib types to C99: boolean preferences are
// `bool*`, UAT update callbacks return `bool`.
#if TRIAGE_WS_AT_LEAST(4, 4)
using pref_bool = bool;
using uat_bool = bool;
#else
using pref_bool = gboolean;
using uat_bool = gboolean;
#endif

// 4.6: a stat_tap_ui init callback returns whether it started (4.0, 4.4: void).
#if TRIAGE_WS_AT_LEAST(4, 6)
using stat_tap_init_result = bool;
#define TRIAGE_STAT_TAP_INIT_OK return true
#else
using stat_tap_init_result = void;
#define TRIAGE_STAT_TAP_INIT_OK return
#endif

// The stats_tree menu path: 4.4 turned the name into a path whose separator is
// "//" (a single "/" no longer makes a submenu).
#if TRIAGE_WS_AT_LEAST(4, 4)
#define TRIAGE_MENU(name) "Triage" STATS_TREE_MENU_SEPARATOR name
#else
#define TRIAGE_MENU(name) "Triage/" name
#endif

}  // namespace triage::ws
