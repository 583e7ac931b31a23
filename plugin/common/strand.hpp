// The one kind of strand the library runs on: an Asio strand over the context's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace lifehook {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

}  // namespace lifehook
