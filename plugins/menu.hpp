// The Triage menu in Wireshark's menu bar: the table statistics and the HTML report.
#pragma once

namespace triage::menu {

void register_menu(int proto);  // proto_reg_handoff phase

}  // namespace triage::menu
