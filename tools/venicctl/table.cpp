#include "table.h"

#include <algorithm>
#include <utility>

namespace venic::ctl {

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); c++) {
    widths[c] = columns_[c].header.size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }

  std::string text;
  auto append_line = [&](auto cell_at) {
    std::string line;
    for (std::size_t c = 0; c < columns_.size(); c++) {
      const std::string& cell = cell_at(c);
      const std::string padding(widths[c] - cell.size(), ' ');
      if (c > 0) line += "  ";
      if (columns_[c].align == Align::kRight)
        line += padding + cell;
      else
        line += cell + padding;
    }
    // Left-aligned last columns would otherwise leave trailing blanks.
    line.erase(line.find_last_not_of(' ') + 1);
    text += line;
    text += '\n';
  };

  append_line([&](std::size_t c) -> const std::string& { return columns_[c].header; });
  for (const auto& row : rows_) append_line([&](std::size_t c) -> const std::string& { return row[c]; });
  return text;
}

}  // namespace venic::ctl
