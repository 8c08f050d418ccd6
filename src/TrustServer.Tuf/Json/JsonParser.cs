using System.Text;

namespace TrustServer.Tuf.Json;

/// <summary>
/// A strict JSON parser over UTF-8 bytes that decodes the way Notary's Go decoder does where it matters for
/// signatures (spec tuf-metadata.md §8.2): duplicate keys keep the last value, invalid UTF-8 and lone surrogate
/// escapes become U+FFFD, raw control characters in strings are errors, numbers keep their literal. Every
/// failure is a <see cref="TufFormatException"/> with the byte offset.
/// </summary>
public static partial class JsonParser
{
    /// <summary>Nesting limit; deeper input is rejected instead of exhausting the stack.</summary>
    public const int MaxDepth = 128;

    /// <summary>Parses one JSON value filling the whole input (surrounding whitespace allowed).</summary>
    public static JsonValue Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Reader(utf8);
        reader.SkipWhitespace();
        var value = reader.ReadValue(0);
        reader.SkipWhitespace();
        if (!reader.AtEnd)
        {
            throw reader.Error("unexpected data after the JSON value");
        }

        return value;
    }

    /// <summary>
    /// Checks that the input is one JSON object or array (surrounding whitespace allowed) and lists its direct
    /// children, without building nodes for them: object members in input order (duplicates included, key decoded)
    /// or array elements (key null), each with where its value lies in the input. Everything nested is checked as
    /// <see cref="Parse"/> would, so the children can be parsed on their own later.
    /// </summary>
    public static JsonOutline Outline(ReadOnlySpan<byte> utf8)
    {
        var reader = new Reader(utf8);
        reader.SkipWhitespace();
        var outline = reader.ReadOutline();
        reader.SkipWhitespace();
        if (!reader.AtEnd)
        {
            throw reader.Error("unexpected data after the JSON value");
        }

        return outline;
    }

    /// <summary>Decodes one JSON string literal (quotes included) exactly as <see cref="Parse"/> decodes strings.</summary>
    internal static string DecodeString(ReadOnlySpan<byte> literal) => new Reader(literal).ReadString();

    private ref partial struct Reader(ReadOnlySpan<byte> input)
    {
        private readonly ReadOnlySpan<byte> _input = input;
        private int _position;

        public readonly bool AtEnd => _position >= _input.Length;

        public readonly TufFormatException Error(string message) =>
            new($"invalid JSON at offset {_position}: {message}");

        public void SkipWhitespace()
        {
            while (_position < _input.Length && _input[_position] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                _position++;
            }
        }

        public JsonValue ReadValue(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error($"nesting deeper than {MaxDepth}");
            }

            if (AtEnd)
            {
                throw Error("unexpected end of input");
            }

            var start = _position;
            JsonValue value = _input[_position] switch
            {
                (byte)'{' => ReadObject(depth),
                (byte)'[' => ReadArray(depth),
                (byte)'"' => new JsonString(ReadString()),
                (byte)'t' => ReadLiteral("true"u8, JsonLiteral.True),
                (byte)'f' => ReadLiteral("false"u8, JsonLiteral.False),
                (byte)'n' => ReadLiteral("null"u8, JsonLiteral.Null),
                (byte)'-' or (>= (byte)'0' and <= (byte)'9') => ReadNumber(),
                _ => throw Error($"unexpected character '{(char)_input[_position]}'"),
            };
            value.SourceOffset = start;
            value.SourceLength = _position - start;
            return value;
        }

        private JsonObject ReadObject(int depth)
        {
            _position++; // '{'
            var result = new JsonObject();
            SkipWhitespace();
            if (Peek() == '}')
            {
                _position++;
                return result;
            }

            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"')
                {
                    throw Error("expected a string key");
                }

                var key = ReadString();
                SkipWhitespace();
                Expect((byte)':');
                SkipWhitespace();
                result.Set(key, ReadValue(depth + 1));
                SkipWhitespace();
                var next = Next();
                if (next == '}')
                {
                    return result;
                }

                if (next != ',')
                {
                    _position--;
                    throw Error("expected ',' or '}' in object");
                }
            }
        }

        private JsonArray ReadArray(int depth)
        {
            _position++; // '['
            var result = new JsonArray();
            SkipWhitespace();
            if (Peek() == ']')
            {
                _position++;
                return result;
            }

            while (true)
            {
                SkipWhitespace();
                result.Add(ReadValue(depth + 1));
                SkipWhitespace();
                var next = Next();
                if (next == ']')
                {
                    return result;
                }

                if (next != ',')
                {
                    _position--;
                    throw Error("expected ',' or ']' in array");
                }
            }
        }

        private JsonLiteral ReadLiteral(ReadOnlySpan<byte> literal, Func<JsonLiteral> create)
        {
            if (!_input[_position..].StartsWith(literal))
            {
                throw Error("invalid literal");
            }

            _position += literal.Length;
            return create();
        }

        private JsonNumber ReadNumber()
        {
            var start = _position;
            ScanNumber();
            return new JsonNumber(Encoding.ASCII.GetString(_input[start.._position]));
        }

        private void ScanNumber()
        {
            // JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
            if (Peek() == '-')
            {
                _position++;
            }

            if (Peek() == '0')
            {
                _position++;
            }
            else if (IsDigit(Peek()))
            {
                SkipDigits();
            }
            else
            {
                throw Error("invalid number");
            }

            if (Peek() == '.')
            {
                _position++;
                if (!IsDigit(Peek()))
                {
                    throw Error("invalid number: digit expected after '.'");
                }

                SkipDigits();
            }

            if (Peek() is 'e' or 'E')
            {
                _position++;
                if (Peek() is '+' or '-')
                {
                    _position++;
                }

                if (!IsDigit(Peek()))
                {
                    throw Error("invalid number: digit expected in exponent");
                }

                SkipDigits();
            }
        }

        public string ReadString()
        {
            _position++; // opening quote

            // Fast path: plain ASCII up to the closing quote, no escapes.
            var rest = _input[_position..];
            var end = rest.IndexOfAny((byte)'"', (byte)'\\');
            if (end >= 0 && rest[end] == '"' && System.Text.Ascii.IsValid(rest[..end]) && rest[..end].IndexOfAnyInRange((byte)0, (byte)0x1F) < 0)
            {
                _position += end + 1;
                return Encoding.ASCII.GetString(rest[..end]);
            }

            var builder = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                {
                    throw Error("unterminated string");
                }

                var b = _input[_position];
                if (b == '"')
                {
                    _position++;
                    return builder.ToString();
                }

                if (b < 0x20)
                {
                    throw Error("control character in string");
                }

                if (b == '\\')
                {
                    ReadEscape(builder);
                    continue;
                }

                if (b < 0x80)
                {
                    builder.Append((char)b);
                    _position++;
                    continue;
                }

                // Multi-byte UTF-8; invalid sequences become U+FFFD one byte at a time, as Go does.
                var status = Rune.DecodeFromUtf8(_input[_position..], out var rune, out var consumed);
                if (status != System.Buffers.OperationStatus.Done)
                {
                    builder.Append('\uFFFD');
                    _position += Math.Max(consumed, 1);
                    continue;
                }

                builder.Append(rune.ToString());
                _position += consumed;
            }
        }

        private void ReadEscape(StringBuilder builder)
        {
            _position++; // backslash
            var c = Next();
            switch (c)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    var unit = ReadHex4();
                    if (char.IsHighSurrogate(unit) && _input[_position..].StartsWith("\\u"u8))
                    {
                        var save = _position;
                        _position += 2;
                        var low = ReadHex4();
                        if (char.IsLowSurrogate(low))
                        {
                            builder.Append(unit).Append(low);
                            break;
                        }

                        _position = save; // not a pair: the second escape is decoded on its own
                    }

                    builder.Append(char.IsSurrogate(unit) ? '\uFFFD' : unit);
                    break;
                default:
                    _position--;
                    throw Error("invalid escape in string");
            }
        }

        private char ReadHex4()
        {
            if (_position + 4 > _input.Length)
            {
                throw Error("truncated \\u escape");
            }

            var value = 0;
            for (var i = 0; i < 4; i++)
            {
                var digit = HexValue(_input[_position + i]);
                if (digit < 0)
                {
                    throw Error("invalid \\u escape");
                }

                value = (value << 4) | digit;
            }

            _position += 4;
            return (char)value;
        }

        private static int HexValue(byte b) => b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };

        private readonly int Peek() => AtEnd ? -1 : _input[_position];

        private int Next()
        {
            if (AtEnd)
            {
                throw Error("unexpected end of input");
            }

            return _input[_position++];
        }

        private void Expect(byte expected)
        {
            if (Peek() != expected)
            {
                throw Error($"expected '{(char)expected}'");
            }

            _position++;
        }

        private static bool IsDigit(int b) => b is >= '0' and <= '9';

        private void SkipDigits()
        {
            while (IsDigit(Peek()))
            {
                _position++;
            }
        }
    }
}
