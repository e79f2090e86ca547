/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The block page's HTML and texts (UTF-8), assembled by resolver/blockpage.c. Private to it.
 *
 * Everything here is a constant: text from the request or the config is inserted by
 * blockpage.c, always HTML-escaped, between these pieces. The page is self-contained (inline
 * CSS, no script, no image, no external resource) so that it renders on any phone, offline.
 */
#pragma once

#include <stdbool.h>

/* Inline style. The Content-Security-Policy allows inline styles and nothing else. */
#define BP_CSS                                                                              \
	"body{margin:0;background:#f3f4f6;color:#1f2937;"                                   \
	"font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"             \
	"main{max-width:42em;margin:0 auto;padding:8px 12px}"                               \
	"section{background:#fff;border-radius:10px;padding:14px 18px;margin:12px 0;"       \
	"box-shadow:0 1px 3px rgba(0,0,0,.15)}"                                             \
	"h1{font-size:1.45em;line-height:1.25;margin:0 0 .5em;color:#b91c1c}"               \
	"h1.ok{color:#1f2937}"                                                              \
	"h2{font-size:1.05em;margin:1em 0 .25em}"                                           \
	".d{font-family:ui-monospace,monospace;font-size:1.05em;word-break:break-all;"      \
	"background:#f1f5f9;padding:1px 5px;border-radius:4px}"                             \
	".en{color:#374151}"                                                                \
	".hot{border-left:4px solid #2563eb;padding-left:10px}"                             \
	".hot a{color:#1d4ed8;font-weight:600}"                                             \
	"button{font:inherit;font-weight:600;padding:10px 16px;border:0;border-radius:8px;" \
	"background:#2563eb;color:#fff;cursor:pointer}"                                     \
	"footer{font-size:.85em;color:#6b7280;text-align:center;margin:8px 0 16px}"

/* Page frame: BP_HEAD, the escaped title, BP_HEAD_END, sections, BP_FOOT. */
#define BP_HEAD                                                                     \
	"<!DOCTYPE html>\n"                                                         \
	"<html lang=\"vi\">\n"                                                      \
	"<head>\n"                                                                  \
	"<meta charset=\"utf-8\">\n"                                                \
	"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n" \
	"<meta name=\"robots\" content=\"noindex,nofollow\">\n"                     \
	"<title>"
#define BP_HEAD_END                   \
	"</title>\n"                  \
	"<style>" BP_CSS "</style>\n" \
	"</head>\n"                   \
	"<body>\n"                    \
	"<main>\n"
#define BP_FOOT                       \
	"<footer>lanhmanh</footer>\n" \
	"</main>\n"                   \
	"</body>\n"                   \
	"</html>\n"

#define BP_SECTION_VI "<section lang=\"vi\">\n"
#define BP_SECTION_EN "<section lang=\"en\" class=\"en\">\n"
#define BP_SECTION_END "</section>\n"

/* The block page. */
#define BP_BLOCKED_TITLE_VI "Trang này đã bị chặn"
#define BP_BLOCKED_TITLE_EN "This site is blocked"
#define BP_DOMAIN_VI "Tên miền:"
#define BP_DOMAIN_EN "Domain:"
#define BP_REASON_VI "Lý do:"
#define BP_REASON_EN "Why:"
#define BP_CATEGORY_VI "Nhóm nội dung:"
#define BP_CATEGORY_EN "Category:"
#define BP_LIST_VI "Danh sách:"
#define BP_LIST_EN "List:"
#define BP_NETWORK_VI "Mạng:"
#define BP_NETWORK_EN "Network:"
#define BP_TODO_VI "Nếu bạn cho rằng đây là nhầm lẫn"
#define BP_TODO_EN "If you think this is a mistake"
#define BP_CONTACT_VI "Liên hệ:"
#define BP_CONTACT_EN "Contact:"

/** Why, per reason (an enum cfg_reason; the last entry is for unknown values). */
struct bp_reason_text {
	const char *vi;
	const char *en;
	const char *todo_vi; /**< what to do, before the contact */
	const char *todo_en;
	bool can_request; /**< the unblock-request button is offered */
};

static const char bp_todo_request_vi[] =
	"Hãy liên hệ người quản trị mạng, hoặc bấm nút dưới đây để gửi yêu cầu bỏ chặn. "
	"Yêu cầu chỉ ghi tên miền và thời gian, không ghi thông tin gì về bạn.";
static const char bp_todo_request_en[] =
	"Contact the network administrator, or send an unblock request with the button above "
	"(“Request unblocking”). The request records only the domain name and the time, "
	"nothing about you.";

static const struct bp_reason_text bp_reason_texts[] = {
	{
		.vi = "Trang này bị chặn theo danh sách của cơ quan có thẩm quyền "
		      "(danh sách quốc gia).",
		.en = "This site is on the national list of the competent authority.",
		.todo_vi = "Các trang trong danh sách quốc gia do cơ quan có thẩm quyền quyết định "
			   "chặn; nhà trường hay nhà mạng không thể tự bỏ chặn. Bạn có thể báo cho "
			   "người quản trị mạng để họ chuyển phản ánh tới cơ quan có thẩm quyền.",
		.todo_en =
			"Sites on the national list are blocked by decision of the competent "
			"authority; the school or network operator cannot lift the block. You can "
			"tell the network administrator, who can pass your report on to the "
			"authority.",
		.can_request = false,
	},
	{
		.vi = "Trang này bị chặn theo chính sách lọc nội dung phù hợp lứa tuổi của nhà "
		      "trường.",
		.en = "This site is blocked by the school's age-appropriate content policy.",
		.todo_vi = bp_todo_request_vi,
		.todo_en = bp_todo_request_en,
		.can_request = true,
	},
	{
		.vi = "Trang này bị chặn theo bộ lọc nội dung mà chủ thuê bao Internet này "
		      "đã chọn.",
		.en = "This site is blocked by the content filter that the subscriber of this "
		      "Internet connection chose.",
		.todo_vi = bp_todo_request_vi,
		.todo_en = bp_todo_request_en,
		.can_request = true,
	},
	{
		.vi = "Trang này bị chặn bởi bộ lọc nội dung của mạng này.",
		.en = "This site is blocked by this network's content filter.",
		.todo_vi = "Hãy liên hệ người quản trị mạng.",
		.todo_en = "Contact the network administrator.",
		.can_request = false,
	},
};

/** Readable names of the built-in categories (DESIGN.md); others are shown as they are. */
struct bp_category_text {
	const char *name;
	const char *vi;
	const char *en;
};

static const struct bp_category_text bp_category_texts[] = {
	{"national", "danh sách quốc gia", "national list"},
	{"adult", "nội dung người lớn", "adult content"},
	{"gambling", "cờ bạc", "gambling"},
	{"violence", "bạo lực", "violence"},
	{"drugs", "ma túy", "drugs"},
	{"games", "trò chơi", "games"},
	{"social", "mạng xã hội", "social networks"},
	{"proxy_vpn_doh", "công cụ vượt bộ lọc (proxy, VPN, DNS mã hóa)",
	 "filter bypass tools (proxy, VPN, encrypted DNS)"},
	{"malware", "mã độc", "malware"},
};

/* The unblock-request form; the escaped domain goes between the two parts. */
#define BP_FORM_START                                        \
	"<form method=\"post\" action=\"/unblock-request\">" \
	"<input type=\"hidden\" name=\"host\" value=\""
#define BP_FORM_END \
	"\"><button type=\"submit\">Gửi yêu cầu bỏ chặn · Request unblocking</button></form>\n"

/* The national child-protection hotline, on every page. */
static const char bp_hotline_vi[] =
	"<p class=\"hot\">Nếu em gặp điều gì khiến em lo lắng hay sợ hãi trên mạng, hãy nói với "
	"thầy cô, cha mẹ, hoặc gọi <a href=\"tel:111\">Tổng đài quốc gia bảo vệ trẻ em 111</a> "
	"(miễn phí, 24/7).</p>\n";
static const char bp_hotline_en[] =
	"<p class=\"hot\">If something online worries or scares you, tell a teacher or a parent, "
	"or call the <a href=\"tel:111\">National child protection hotline: 111</a> "
	"(free, 24/7).</p>\n";

/* The neutral pages: nothing is blocked here. */
#define BP_SERVICE_TITLE_VI "Trang thông báo chặn của lanhmanh"
#define BP_SERVICE_TITLE_EN "lanhmanh block page"
static const char bp_service_vi[] =
	"Địa chỉ này phục vụ trang thông báo chặn của lanhmanh, bộ lọc DNS của mạng này: "
	"trình duyệt được đưa tới đây khi một tên miền bị chặn.";
static const char bp_service_en[] =
	"This address serves the block page of lanhmanh, this network's DNS filter: browsers "
	"are sent here when a name is blocked.";
#define BP_NOT_BLOCKED_TITLE_VI "Tên miền này hiện không bị chặn"
#define BP_NOT_BLOCKED_TITLE_EN "This name is not blocked now"
static const char bp_not_blocked_vi[] =
	"hiện không bị chặn đối với bạn. Hãy đóng trang này và mở lại sau ít phút: trình duyệt "
	"hoặc máy của bạn có thể vẫn còn nhớ câu trả lời cũ.";
static const char bp_not_blocked_en[] =
	"is not blocked for you now. Close this page and open it again in a few minutes: your "
	"browser or device may still remember the old answer.";
static const char bp_no_host_vi[] =
	"Yêu cầu này không nêu tên miền nào (thiếu tên miền, hoặc là một địa chỉ IP), nên không "
	"có gì bị chặn ở đây.";
static const char bp_no_host_en[] =
	"This request names no domain (the name is missing, or is an IP address), so nothing "
	"is blocked here.";
#define BP_BAD_HOST_VI "Yêu cầu này mang tên miền không hợp lệ:"
#define BP_BAD_HOST_EN "This request carries a name that is not a valid domain name:"

/* After POST /unblock-request. */
#define BP_RECORDED_TITLE_VI "Đã ghi nhận yêu cầu bỏ chặn"
#define BP_RECORDED_TITLE_EN "Unblock request recorded"
static const char bp_recorded_vi[] =
	"Yêu cầu bỏ chặn đã được ghi lại để người quản trị mạng xem xét. Yêu cầu chỉ ghi tên "
	"miền và thời gian, không ghi thông tin gì về bạn.";
static const char bp_recorded_en[] =
	"The unblock request was recorded for the network administrator to review. It records "
	"only the domain name and the time, nothing about you.";

/** Short pages for refused requests. */
struct bp_message_text {
	unsigned status;
	const char *title_vi;
	const char *title_en;
	const char *vi;
	const char *en;
};

enum bp_message {
	BP_MSG_BAD_REQUEST,
	BP_MSG_METHOD,
	BP_MSG_RATE,
	BP_MSG_STORE,
	BP_MSG_NATIONAL,
};

static const struct bp_message_text bp_message_texts[] = {
	[BP_MSG_BAD_REQUEST] =
		{400, "Yêu cầu không hợp lệ", "Bad request",
		 "Không đọc được yêu cầu bỏ chặn: thiếu tên miền, tên miền không hợp "
		 "lệ, hoặc yêu cầu quá dài.",
		 "The unblock request could not be read: the domain name is missing "
		 "or not valid, or the request is too long."},
	[BP_MSG_METHOD] = {405, "Phương thức không được hỗ trợ", "Method not allowed",
			   "Địa chỉ này chỉ hiển thị trang thông báo chặn.",
			   "This address only shows the block page."},
	[BP_MSG_RATE] = {429, "Quá nhiều yêu cầu", "Too many requests",
			 "Đã có quá nhiều yêu cầu bỏ chặn từ máy này trong một phút. Hãy thử lại "
			 "sau ít phút.",
			 "Too many unblock requests came from this device within a minute. Try "
			 "again in a few minutes."},
	[BP_MSG_STORE] = {503, "Chưa ghi được yêu cầu", "The request could not be recorded",
			  "Hiện không ghi được yêu cầu bỏ chặn. Hãy liên hệ trực tiếp người quản "
			  "trị mạng.",
			  "Unblock requests cannot be recorded now. Contact the network "
			  "administrator directly."},
	[BP_MSG_NATIONAL] = {403, "Không thể gửi yêu cầu bỏ chặn", "No unblock request possible",
			     "Tên miền này nằm trong danh sách quốc gia: chỉ cơ quan có thẩm quyền "
			     "mới có thể bỏ chặn, nên không có yêu cầu nào được ghi lại.",
			     "This name is on the national list: only the competent authority can "
			     "lift the block, so no request was recorded."},
};
