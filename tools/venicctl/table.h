// A plain-text table with aligned columns, as printed by `vf list` and `stats`.
#pragma once

#include <string>
#include <vector>

namespace venic::ctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns);

  // Missing cells print empty; extra cells are dropped.
  void add_row(std::vector<std::string> cells);

  // Header line plus one line per row, columns two spaces apart, no trailing
  // blanks, every line ending in '\n'.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace venic::ctl
