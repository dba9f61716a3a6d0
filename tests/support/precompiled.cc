// The translation unit that test_pch's precompiled header is built with (tests/CMakeLists.txt).
