# cmake -DIN=file -DOUT=file.cpp -P embed.cmake: the bytes of IN as a C++
# array sonde::jvm::kRmiHostAgentJar.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE ${OUT}
  "// Generated from ${IN} by jvm/embed.cmake.\n"
  "#include <cstddef>\n"
  "namespace sonde::jvm {\n"
  "extern const unsigned char kRmiHostAgentJar[] = {\n${body}\n};\n"
  "extern const size_t kRmiHostAgentJarSize = ${size};\n"
  "}  // namespace sonde::jvm\n")
