// A Beast body that sends a slice of a shared, immutable buffer without copying it, so cached
// artifacts, ranges and precompressed copies are all served from memory by reference.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace wisp::server {

struct SharedBody {
  struct value_type {
    std::shared_ptr<const std::string> data;
    size_t offset = 0;
    size_t length = 0;
  };

  static std::uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& body)
        : body_(body) {}
    void init(boost::beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (done_ || !body_.data || body_.length == 0) return boost::none;
      done_ = true;
      return std::make_pair(const_buffers_type(body_.data->data() + body_.offset, body_.length),
                            false);
    }

   private:
    const value_type& body_;
    bool done_ = false;
  };
};

}  // namespace wisp::server
