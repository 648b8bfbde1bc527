// `terra ops`: the registry printed as a table, one op a line.
#pragma once
#include <ostream>

namespace terra::cli {
void print_ops_table(std::ostream& os);
}
