// wsgw-admin: only wiring lives here; Cli::run is the tool.

#include "Cli.h"

#include <iostream>

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return wsgw::cli::Cli::run(args, std::cout, std::cerr, std::cin);
}
