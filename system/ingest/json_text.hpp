#pragma once
// The ingest edge's payload writer: items are written as JSON text field by field.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include <boost/json/detail/format.hpp>
#include <boost/json/serializer.hpp>

namespace rtmon::ingest::detail {

// Byte tests on eight bytes at once (SWAR): every item's strings are scanned, most of them long
// runs of plain text. Nonzero if some byte of `w` is below `n` (n <= 128), or equals `c`.
inline constexpr uint64_t ones = 0x0101010101010101ull;
constexpr uint64_t bytes_below(uint64_t w, uint8_t n) {
  return (w - ones * n) & ~w & (ones * 0x80);
}
constexpr uint64_t bytes_equal(uint64_t w, uint8_t c) { return bytes_below(w ^ (ones * c), 1); }
inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Item rules shared by normalize() and the fast path (fast_body.cpp).
constexpr size_t max_id_bytes = 128;
constexpr size_t max_name_bytes = 200;
constexpr size_t max_item_bytes = 900 * 1024;

// No control characters (below 0x20, or DEL), eight bytes at a time.
inline bool printable(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    auto w = load8(s.data() + i);
    if (bytes_below(w, 0x20) | bytes_equal(w, 0x7f)) return false;
  }
  return std::none_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// The payload is written as JSON text field by field, exactly as boost::json::serialize would
// write the same object (key order, escapes, number formats), instead of building it as a DOM
// and serializing that: copying every field into the DOM and walking it again cost more than
// parsing the request. The buffer is a plain growable array: std::string's out-of-line append
// per piece cost as much as the pieces.
class json_text {
 public:
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  size_t capacity() const { return cap_; }
  /// Room for `n` more bytes at the end; commit() what was written there.
  char* room(size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    return data_.get() + size_;
  }
  void commit(size_t n) { size_ += n; }
  void append(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  /// `,"key":` for the payload's own key names, which need no escaping.
  void key(std::string_view k) {
    auto p = room(k.size() + 4);
    p[0] = ',';
    p[1] = '"';
    std::memcpy(p + 2, k.data(), k.size());
    p[k.size() + 2] = '"';
    p[k.size() + 3] = ':';
    size_ += k.size() + 4;
  }
  /// A JSON string, escaped as Boost.JSON does: \" \\ \b \t \n \f \r, other control
  /// characters as \u00xx, everything else (UTF-8 included) as is.
  void string(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    char* p = room(s.size() * 6 + 2);  // the worst case: every character as \u00xx
    char* const begin = p;
    *p++ = '"';
    size_t i = 0;
    while (i < s.size()) {
      // Copy eight plain characters at a time.
      while (i + 8 <= s.size()) {
        auto w = load8(s.data() + i);
        if (bytes_below(w, 0x20) | bytes_equal(w, '"') | bytes_equal(w, '\\')) break;
        std::memcpy(p, &w, 8);
        p += 8;
        i += 8;
      }
      if (i == s.size()) break;
      auto ch = static_cast<unsigned char>(s[i++]);
      if (ch >= 0x20 && ch != '"' && ch != '\\') {
        *p++ = static_cast<char>(ch);
        continue;
      }
      *p++ = '\\';
      switch (ch) {
        case '"':
        case '\\':
          *p++ = static_cast<char>(ch);
          break;
        case '\b':
          *p++ = 'b';
          break;
        case '\t':
          *p++ = 't';
          break;
        case '\n':
          *p++ = 'n';
          break;
        case '\f':
          *p++ = 'f';
          break;
        case '\r':
          *p++ = 'r';
          break;
        default:
          *p++ = 'u';
          *p++ = '0';
          *p++ = '0';
          *p++ = hex[ch >> 4];
          *p++ = hex[ch & 15];
      }
    }
    *p++ = '"';
    size_ += static_cast<size_t>(p - begin);
  }
  /// Numbers as Boost.JSON's serializer writes them (the same functions).
  void number(int64_t i) {
    commit(boost::json::detail::format_int64(room(boost::json::detail::max_number_chars), i));
  }
  void number(double d) {
    commit(boost::json::detail::format_double(room(boost::json::detail::max_number_chars), d));
  }
  /// Values of arbitrary shape (attrs, tags, samples) go through Boost.JSON's own serializer.
  template <class T>
  void value(const T& v) {
    boost::json::serializer sr;
    sr.reset(&v);
    while (!sr.done()) commit(sr.read(room(4096), 4096).size());
  }

 private:
  void grow(size_t need) {
    size_t cap = std::max<size_t>(need, cap_ * 2);
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace rtmon::ingest::detail
