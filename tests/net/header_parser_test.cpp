#include "core/net/response_header_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace oemlink::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(HttpHeaderParser, KeepsOrderDuplicatesAndNameCase) {
  ResponseHeaderParser parser;
  parser.feed("HTTP/1.1 200 OK\r\n");
  parser.feed("Content-Type: text/plain\r\n");
  parser.feed("x-test:  first  \r\n");
  parser.feed("X-Test: second\r\n");
  parser.feed("Empty:\r\n");
  parser.feed("\r\n");
  EXPECT_THAT(parser.take(),
              ElementsAre(Pair("Content-Type", "text/plain"), Pair("x-test", "first"),
                          Pair("X-Test", "second"), Pair("Empty", "")));
}

TEST(HttpHeaderParser, InterimResponseHeadersAreDropped) {
  ResponseHeaderParser parser;
  parser.feed("HTTP/1.1 100 Continue\r\n");
  parser.feed("X-Interim: yes\r\n");
  parser.feed("\r\n");
  parser.feed("HTTP/1.1 201 Created\r\n");
  parser.feed("Location: /x\r\n");
  parser.feed("\r\n");
  EXPECT_THAT(parser.take(), ElementsAre(Pair("Location", "/x")));
}

TEST(HttpHeaderParser, FoldedContinuationJoinsPreviousValue) {
  ResponseHeaderParser parser;
  parser.feed("HTTP/1.1 200 OK\r\n");
  parser.feed("X-Long: part one\r\n");
  parser.feed("\t part two\r\n");
  parser.feed("Junk line without colon\r\n");
  EXPECT_THAT(parser.take(), ElementsAre(Pair("X-Long", "part one part two")));
}

TEST(HttpHeaderParser, Http2StatusLineStartsBlock) {
  ResponseHeaderParser parser;
  parser.feed("HTTP/2 200 \r\n");
  parser.feed("date: today\r\n");
  EXPECT_THAT(parser.headers(), ElementsAre(Pair("date", "today")));
}

}  // namespace
}  // namespace oemlink::net
