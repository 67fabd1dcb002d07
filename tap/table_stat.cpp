#include "tap/table_stat.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace triage::tap {
namespace {

std::vector<TableStat*>& registry() {
    static std::vector<TableStat*> stats;  // the statistics live as long as the plugin
    return stats;
}

const char kEmpty[] = "";

}  // namespace

// ---- TableRows ---------------------------------------------------------------------

std::size_t TableRows::row(const std::string& key) {
    const auto found = keys_.find(key);
    if (found != keys_.end()) return found->second;
    const std::size_t index = table_->num_elements;
    std::vector<stat_tap_table_item_type> blank(columns_->size());
    for (stat_tap_table_item_type& cell : blank) {
        cell.type = TABLE_ITEM_STRING;
        cell.value.string_value = kEmpty;
    }
    stat_tap_init_table_row(table_, static_cast<guint>(index), static_cast<guint>(blank.size()), blank.data());
    texts_.resize(texts_.size() + columns_->size());
    keys_.emplace(key, index);
    return index;
}

void TableRows::text(std::size_t row, std::size_t col, std::string value) {
    if (row >= table_->num_elements || col >= columns_->size()) throw std::logic_error("table cell out of range");
    std::string& stored = texts_[row * columns_->size() + col];
    stored = value.empty() ? "-" : std::move(value);
    stat_tap_get_field_data(table_, static_cast<guint>(row), static_cast<guint>(col))->value.string_value =
        stored.c_str();
}

void TableRows::count(std::size_t row, std::size_t col, std::uint64_t value) {
    number(row, col, std::to_string(value), 10);
}

void TableRows::number(std::size_t row, std::size_t col, std::string digits, std::size_t width) {
    if (digits.empty()) digits = "-";
    if (digits.size() < width) digits.insert(0, width - digits.size(), ' ');
    text(row, col, std::move(digits));
}

void TableRows::empty(std::size_t row, std::size_t col) {
    text(row, col, "-");
}

void TableRows::clear() {
    for (guint i = 0; i < table_->num_elements; ++i) retired_rows_.emplace_back(table_->elements[i]);
    g_free(table_->elements);
    table_->elements = nullptr;
    table_->num_elements = 0;
    keys_.clear();
    retired_texts_.push_back(std::move(texts_));
    texts_ = {};
}

// ---- TableStat ---------------------------------------------------------------------

namespace {

void init_cb(stat_tap_table_ui* ui) {
    for (TableStat* s : registry())
        if (s->owns(ui)) s->on_init();
}

void reset_cb(stat_tap_table* table) {
    for (TableStat* s : registry()) s->on_reset(table);
}

}  // namespace

TableStat::TableStat(const char* cli, const char* title, const char* tap, std::vector<TableColumn> columns,
                     std::vector<const char*> tables)
    : cli_(cli), title_(title), tap_(tap), columns_(std::move(columns)), titles_(std::move(tables)) {
    for (const TableColumn& c : columns_)
        fields_.push_back(stat_tap_table_item{TABLE_ITEM_STRING, c.align, c.name, "%s"});
}

std::vector<Problem> TableStat::own_problems() const {
    if (!started_twice_) return {};
    return {{"error", "-z " + cli_ +
                          " was asked for twice in one run: Wireshark shares a table statistic's rows, so only one "
                          "of them is counted (and printed twice); for more views use -z " +
                          cli_.substr(0, cli_.find(',')) + ",json,<filter>"}};
}

bool TableStat::bound() const {
    // The dialog frees the tables when its last window closes.
    if (!ui_.tables || ui_.tables->len != rows_.size()) return false;
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (g_array_index(ui_.tables, stat_tap_table*, i) != rows_[i].table()) return false;
    return true;
}

void TableStat::on_init() {
    // Called before each run (every Apply in the dialog, every -z): the
    // tables are made or found again, emptied, and the session restarts.
    if (!bound()) {
        awaiting_run_ = started_twice_ = false;  // no dialog open: a fresh start
        rows_.clear();
        for (const char* t : titles_) {
            stat_tap_table* table = stat_tap_find_table(&ui_, t);
            if (!table) {
                table = stat_tap_init_table(t, static_cast<int>(columns_.size()), 0, nullptr);
                stat_tap_add_table(&ui_, table);
            }
            rows_.emplace_back(table, &columns_);
        }
    }
    if (awaiting_run_ && !started_twice_) {
        started_twice_ = true;
        std::fprintf(stderr, "error: %s\n", own_problems().front().text.c_str());
    }
    awaiting_run_ = true;
    listener_ = nullptr;
    for (TableRows& r : rows_) r.clear();
    // Due at the next end of a dissection, whichever: a run that sees no
    // packet still shows its (empty) rows.
    dirty_ = true;
    edt_ = nullptr;
    restart();
    started();
}

void TableStat::on_reset(stat_tap_table* table) {
    if (!bound()) return;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].table() != table) continue;
        rows_[i].clear();
        if (i == 0) {
            dirty_ = true;
            edt_ = nullptr;
            listener_ = nullptr;
            restart();
        }
    }
}

void TableStat::on_dissection_end(const epan_dissect_t* edt) {
    awaiting_run_ = false;
    if (!dirty_ || (edt_ && edt != edt_) || !bound()) return;
    dirty_ = false;
    fill();
}

void TableStat::register_ui(tap_packet_cb packet) {
    ui_.group = REGISTER_PACKET_STAT_GROUP_UNSORTED;
    ui_.title = title_.c_str();
    ui_.tap_name = tap_.c_str();
    ui_.cli_string = cli_.c_str();
    ui_.stat_tap_init_cb = ws::guard<init_cb>;
    ui_.packet_func = packet;
    ui_.stat_tap_reset_table_cb = ws::guard<reset_cb>;
    ui_.stat_tap_free_table_item_cb = nullptr;
    ui_.stat_filter_check_cb = nullptr;
    ui_.nfields = fields_.size();
    ui_.fields = fields_.data();
    ui_.nparams = 0;
    ui_.params = nullptr;
    ui_.tables = nullptr;
    ui_.refcount = 0;
    registry().push_back(this);
    register_stat_tap_table_ui(&ui_);
}

void finish_tables(const epan_dissect_t* edt) {
    for (TableStat* s : registry()) s->on_dissection_end(edt);
}

void write_problems(TableRows& t, std::vector<Problem> problems, const AnomalyLog& log) {
    // A short kind in the first column, the text in the last (the one that
    // stretches): a long first column would push the others away.
    for (const auto& [kind, n] : log.counts()) {
        std::string text = std::to_string(n) + (n == 1 ? " time" : " times");
        for (const Anomaly& a : log.listed())
            if (a.kind == kind) {
                text += "; first at frame " + std::to_string(a.frame) + ": " + a.detail;
                break;
            }
        problems.push_back({"anomaly " + kind, std::move(text)});
    }
    const std::size_t last = t.table()->num_fields - 1;
    for (const auto& [kind, text] : problems) {
        const std::size_t r = t.row(kind + "\n" + text);
        t.text(r, 0, kind);
        for (std::size_t c = 1; c < last; ++c) t.empty(r, c);
        t.text(r, last, text);
    }
}

// ---- filters -----------------------------------------------------------------------

std::string ms3(Nanos ns) {
    const bool negative = ns < 0;
    const unsigned long long us = ((negative ? 0ull - static_cast<unsigned long long>(ns) : ns) + 500) / 1000;
    std::string frac = std::to_string(us % 1000);
    frac.insert(0, 3 - frac.size(), '0');
    return (negative ? "-" : "") + std::to_string(us / 1000) + "." + frac;
}

std::string server_filter(const IpAddress& server, std::uint16_t port) {
    const std::string ip = server.is_v6() ? "ipv6" : "ip";
    const std::string a = server.to_string(), p = std::to_string(port);
    return "(" + ip + ".src == " + a + " && tcp.srcport == " + p + ") || (" + ip + ".dst == " + a +
           " && tcp.dstport == " + p + ")";
}

std::string destination_filter(const IpAddress& destination, const std::vector<std::string>& local_networks) {
    const bool v6 = destination.is_v6();
    const std::string ip = v6 ? "ipv6" : "ip";
    std::string sources;
    for (const std::string& net : local_networks) {
        if ((net.find(':') != std::string::npos) != v6) continue;
        sources += (sources.empty() ? "" : " || ") + ip + ".src == " + net;
    }
    std::string f = ip + ".dst == " + destination.to_string();
    if (!sources.empty()) f += " && (" + sources + ")";
    return f;
}

}  // namespace triage::tap
