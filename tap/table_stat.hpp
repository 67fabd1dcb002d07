// Table statistics: Wireshark's stat_tap_table_ui ("-z <stat>,table" in
// tshark; in the GUI a dialog with sortable columns, a display filter box,
// Copy and Save as). Each statistic keeps its state in one TableStat (a
// session: settings snapshot and tracker, restarted on every retap) and
// writes its rows when dissection ends.
//
// Why rows are written at the end: percentiles need every value, and neither
// tshark's table printer nor the dialog calls the statistic before it reads
// the cells. Both read them after the dissection context (epan_dissect_t) the
// packets went through is cleaned up, and Wireshark tells epan plugins that
// (epan_plugin.dissect_cleanup): finish_tables() then fills the tables of the
// statistics that saw packets through that context.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "plugins/ws.hpp"
#include "triage/time_anomalies.hpp"

namespace triage::tap {

// Every cell is text formatted by Triage (see TableRows::number): a column
// has only a name and an alignment.
struct TableColumn {
    const char* name;
    tap_alignment_type align;
};
constexpr tap_alignment_type kLeft = TAP_ALIGN_LEFT, kRight = TAP_ALIGN_RIGHT;

// The rows of one table, found by key and stable while a dialog shows them
// (the dialog keeps pointers to their cells); the strings are owned here.
class TableRows {
public:
    TableRows(stat_tap_table* table, const std::vector<TableColumn>* columns) : table_(table), columns_(columns) {}
    TableRows(const TableRows&) = delete;
    TableRows& operator=(const TableRows&) = delete;
    TableRows(TableRows&&) = default;
    TableRows& operator=(TableRows&&) = default;
    std::size_t row(const std::string& key);
    // A cell with nothing to show shows "-": never blank, so that a row
    // copied as text keeps its columns (and "-" sorts before any number).
    void text(std::size_t row, std::size_t col, std::string value);
    void count(std::size_t row, std::size_t col, std::uint64_t value);  // a whole number, as number()
    // A number as text, right-aligned in a fixed width so that sorting the
    // column as text sorts it by value (non-negative numbers); formatted
    // here, never by printf, so no locale's decimal comma gets in.
    void number(std::size_t row, std::size_t col, std::string digits, std::size_t width = 11);
    void empty(std::size_t row, std::size_t col);  // "-"
    // Drops every row from the table. Their cells stay allocated until the
    // TableRows goes (when Wireshark has freed the tables, i.e. no dialog
    // is open): another open dialog of the same statistic still points at
    // them (Wireshark shares a statistic's tables between its dialogs).
    void clear();
    stat_tap_table* table() const { return table_; }

private:
    struct GFree {
        void operator()(void* p) const { g_free(p); }
    };
    stat_tap_table* table_;
    const std::vector<TableColumn>* columns_;
    std::unordered_map<std::string, std::size_t> keys_;
    std::deque<std::string> texts_;  // row-major; a deque never moves its elements
    std::vector<std::unique_ptr<stat_tap_table_item_type, GFree>> retired_rows_;
    std::vector<std::deque<std::string>> retired_texts_;  // moving a deque keeps its elements in place
};

// A line of a "Problems" table: its kind ("error", "warning", …) and text.
struct Problem {
    std::string kind, text;
};

class TableStat {
public:
    // `cli`: the -z name ("triage_rtt,table"); `tables`: the titles of its
    // tables, shown as groups in the dialog.
    TableStat(const char* cli, const char* title, const char* tap, std::vector<TableColumn> columns,
              std::vector<const char*> tables);
    virtual ~TableStat() = default;
    TableStat(const TableStat&) = delete;
    TableStat& operator=(const TableStat&) = delete;

    // Registers with Wireshark; `packet` is the statistic's tap callback.
    void register_ui(tap_packet_cb packet);
    // A packet reached the statistic's `listener` through `edt`: its rows are
    // due when that dissection context is cleaned up. False: the packet is
    // another listener's, to be ignored. Wireshark shares a table statistic's
    // rows among its listeners, so one run counts for one listener only: the
    // first that gets a packet (a second "-z <stat>,table" in one tshark run
    // is reported under Problems and on stderr).
    bool take(const void* listener, const epan_dissect_t* edt) {
        if (!listener_) listener_ = listener;
        if (listener != listener_) return false;
        edt_ = edt;
        dirty_ = true;
        return true;
    }

    // Called by Wireshark (through static trampolines).
    bool owns(const stat_tap_table_ui* ui) const { return ui == &ui_; }
    void on_init();
    void on_reset(stat_tap_table* table);
    void on_dissection_end(const epan_dissect_t* edt);

protected:
    virtual void restart() = 0;  // fresh settings snapshot and tracker
    virtual void fill() = 0;     // writes the rows from the tracker
    virtual void started() {}    // after restart(), outside Wireshark's listener loops
    TableRows& rows(std::size_t table) { return rows_.at(table); }
    // What the statistic itself has to say under Problems.
    std::vector<Problem> own_problems() const;

private:
    bool bound() const;
    std::string cli_, title_, tap_;
    std::vector<TableColumn> columns_;
    std::vector<stat_tap_table_item> fields_;
    std::vector<const char*> titles_;
    std::vector<TableRows> rows_;
    stat_tap_table_ui ui_{};
    const epan_dissect_t* edt_ = nullptr;  // null: the next dissection to end, whichever
    bool dirty_ = false;
    const void* listener_ = nullptr;  // the listener this run counts for
    bool awaiting_run_ = false;       // started, no dissection ended since
    bool started_twice_ = false;
};

// One row per problem given, then one per kind of anomaly with its count and
// first occurrence; the kind in the first column, the text in the last.
void write_problems(TableRows& t, std::vector<Problem> problems, const AnomalyLog& log);

// From the epan plugin's dissect_cleanup: fills the tables fed through `edt`.
void finish_tables(const epan_dissect_t* edt);

// A display filter for packets to or from a server's TCP port, and for
// outbound packets from local networks to a destination.
// Milliseconds with three decimals (microseconds, rounded half up).
std::string ms3(Nanos ns);

std::string server_filter(const IpAddress& server, std::uint16_t port);
std::string destination_filter(const IpAddress& destination, const std::vector<std::string>& local_networks);

}  // namespace triage::tap
