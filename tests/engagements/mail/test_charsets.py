"""Reading every message's text: narrow and wrong charset labels, stray bad bytes, no label at all."""

from __future__ import annotations

import pytest

from engagements.mail import charsets
from engagements.mail.parse import parse_message

CHINESE = "您好，附件是修改后的设计稿，请查收。顺祝商祺！"
KOREAN = "안녕하세요, 수정된 디자인 파일을 첨부합니다. 감사합니다."
JAPANESE = "お世話になっております。修正版のデザインを添付いたします。"
RUSSIAN = "Здравствуйте! Исправленный макет во вложении, посмотрите, пожалуйста. Если будут вопросы, пишите."
GERMAN = "Schöne Grüße aus Köln, Jürgen"


def raw_mail(
    body: bytes, content_type: str = "text/plain; charset=utf-8", subject: bytes = b"Entwurf"
) -> bytes:
    return (
        b"From: Vanessa <vanessa@va-agency.example>\r\n"
        b"To: alice@acme.example\r\n"
        b"Subject: " + subject + b"\r\n"
        b"Date: Mon, 14 Dec 2026 10:00:00 +0100\r\n"
        b"Message-ID: <charsets@va-agency.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: " + content_type.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("declared", "text", "encoding"),
    [
        # GBK characters (here 镕 and 堃, outside GB 2312) in mail labelled gb2312.
        ("gb2312", CHINESE + "镕堃", "gbk"),
        ("GB2312", CHINESE, "gb18030"),
        # Windows' Korean (Unified Hangul Code, beyond EUC-KR) under the old Korean label.
        ("ks_c_5601-1987", KOREAN + "똠방각하", "cp949"),
        ("euc-kr", "똠방각하", "cp949"),
        # NEC and IBM extensions (①, ㈱) under the plain Shift_JIS label.
        ("shift_jis", JAPANESE + "①㈱", "cp932"),
        # Windows-1252 punctuation and the euro under the Latin-1 label.
        ("iso-8859-1", "Die Rechnung über 450 € ist „unterwegs“ – bitte prüfen.", "cp1252"),
    ],
)
def test_a_narrow_charset_label_is_read_as_the_superset_mailers_really_send(declared, text, encoding):
    mail = parse_message(raw_mail(text.encode(encoding), f"text/plain; charset={declared}"))

    assert mail.text == text
    assert mail.defects == ()


def test_utf8_with_one_invalid_byte_keeps_every_other_character():
    body = "Grüße aus Köln – das Angebot über 450 € steht.\n".encode() * 3 + b"Kaputt: \xff hier.\n"

    mail = parse_message(raw_mail(body))

    assert mail.text.startswith("Grüße aus Köln – das Angebot über 450 € steht.")
    assert mail.text.endswith("Kaputt: \ufffd hier.")
    assert mail.text.count("\ufffd") == 1
    assert mail.defects == ("1 invalid byte sequences in utf-8 text were replaced",)


def test_utf8_cut_mid_character_loses_only_that_character():
    body = ("Привет! " * 20).encode()[:-3]  # the last letter cut in half

    text, notes = charsets.decode(body, "utf-8")

    assert text.startswith("Привет! Привет!")
    assert text.count("\ufffd") == 1
    assert len(notes) == 1


def test_text_labelled_utf8_that_holds_no_utf8_is_read_as_windows_1252():
    mail = parse_message(raw_mail(GERMAN.encode("cp1252")))

    assert mail.text == GERMAN
    assert mail.defects == ("text declared as utf-8 was read as windows-1252",)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (CHINESE, "gbk"),
        (RUSSIAN, "cp1251"),
        (RUSSIAN, "koi8_r"),
        (KOREAN, "cp949"),
        (JAPANESE, "euc_jp"),
        (GERMAN, "cp1252"),
        ("Grüße", "cp1252"),
        (GERMAN, "utf-8"),
    ],
)
def test_text_without_a_charset_label_is_detected(text, encoding):
    mail = parse_message(raw_mail(text.encode(encoding), "text/plain"))

    assert mail.text == text


def test_a_gbk_subject_sent_as_raw_bytes_is_read_as_chinese():
    mail = parse_message(raw_mail(b"body", subject=CHINESE.encode("gbk")))

    assert mail.subject == CHINESE
    assert mail.defects == ("8-bit characters in header Subject were read as gb18030",)


def test_an_encoded_word_labelled_gb2312_with_gbk_characters_is_read():
    word = b"=?gb2312?B?" + __import__("base64").b64encode("报价镕堃".encode("gbk")) + b"?="

    assert parse_message(raw_mail(b"body", subject=word)).subject == "报价镕堃"


@pytest.mark.parametrize("label", ["unknown-8bit", "x-unknown", "default"])
def test_a_label_that_names_no_charset_is_read_as_no_label(label):
    text, notes = charsets.decode(GERMAN.encode("cp1252"), label)

    assert (text, notes) == (GERMAN, [])


def test_the_five_bytes_windows_1252_leaves_undefined_are_read_as_latin1():
    text, _notes = charsets.decode(b"a\x81b\x8dc\x8fd\x90e\x9d", "iso-8859-1")

    assert text == "a\x81b\x8dc\x8fd\x90e\x9d"


def test_7bit_text_in_a_charset_that_is_not_ascii_compatible_is_decoded_by_it():
    assert charsets.decode(b"Gr+APw-+AN8-e", "utf-7")[0] == "Grüße"
