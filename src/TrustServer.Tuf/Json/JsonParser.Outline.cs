namespace TrustServer.Tuf.Json;

/// <summary>The outline of a document (<see cref="JsonParser.Outline"/>): its direct children checked and located, not built.</summary>
public static partial class JsonParser
{
    private ref partial struct Reader
    {
        public JsonOutline ReadOutline()
        {
            var kind = Peek() switch
            {
                '{' => JsonValueKind.Object,
                '[' => JsonValueKind.Array,
                _ => throw Error(AtEnd ? "unexpected end of input" : "expected an object or an array"),
            };
            var children = new List<JsonOutlineEntry>();
            var close = kind == JsonValueKind.Object ? '}' : ']';
            _position++;
            SkipWhitespace();
            if (Peek() == close)
            {
                _position++;
                return new JsonOutline(kind, children);
            }

            while (true)
            {
                SkipWhitespace();
                string? key = null;
                if (kind == JsonValueKind.Object)
                {
                    if (Peek() != '"')
                    {
                        throw Error("expected a string key");
                    }

                    key = ReadString();
                    SkipWhitespace();
                    Expect((byte)':');
                    SkipWhitespace();
                }

                var start = _position;
                var valueKind = SkipValue(1);
                children.Add(new JsonOutlineEntry(key, valueKind, start, _position - start));
                SkipWhitespace();
                var next = Next();
                if (next == close)
                {
                    return new JsonOutline(kind, children);
                }

                if (next != ',')
                {
                    _position--;
                    throw Error(kind == JsonValueKind.Object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
                }
            }
        }

        // Checks one value as ReadValue does, without building anything; returns its kind.
        private JsonValueKind SkipValue(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error($"nesting deeper than {MaxDepth}");
            }

            if (AtEnd)
            {
                throw Error("unexpected end of input");
            }

            switch (_input[_position])
            {
                case (byte)'{':
                case (byte)'[':
                    var close = _input[_position] == '{' ? '}' : ']';
                    var isObject = close == '}';
                    _position++;
                    SkipWhitespace();
                    if (Peek() == close)
                    {
                        _position++;
                        return isObject ? JsonValueKind.Object : JsonValueKind.Array;
                    }

                    while (true)
                    {
                        SkipWhitespace();
                        if (isObject)
                        {
                            if (Peek() != '"')
                            {
                                throw Error("expected a string key");
                            }

                            SkipString();
                            SkipWhitespace();
                            Expect((byte)':');
                            SkipWhitespace();
                        }

                        SkipValue(depth + 1);
                        SkipWhitespace();
                        var next = Next();
                        if (next == close)
                        {
                            return isObject ? JsonValueKind.Object : JsonValueKind.Array;
                        }

                        if (next != ',')
                        {
                            _position--;
                            throw Error(isObject ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
                        }
                    }

                case (byte)'"':
                    SkipString();
                    return JsonValueKind.String;
                case (byte)'t':
                    ReadLiteral("true"u8, JsonLiteral.True);
                    return JsonValueKind.Boolean;
                case (byte)'f':
                    ReadLiteral("false"u8, JsonLiteral.False);
                    return JsonValueKind.Boolean;
                case (byte)'n':
                    ReadLiteral("null"u8, JsonLiteral.Null);
                    return JsonValueKind.Null;
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                    ScanNumber();
                    return JsonValueKind.Number;
                default:
                    throw Error($"unexpected character '{(char)_input[_position]}'");
            }
        }

        // The checks of ReadString without decoding: raw control characters and bad escapes are errors; any other
        // byte (invalid UTF-8 included) is accepted, as ReadString replaces it instead of failing.
        private void SkipString()
        {
            _position++; // opening quote
            while (true)
            {
                var rest = _input[_position..];
                var stop = rest.IndexOfAny((byte)'"', (byte)'\\');
                var special = (stop < 0 ? rest : rest[..stop]).IndexOfAnyInRange((byte)0, (byte)0x1F);
                if (special >= 0)
                {
                    _position += special;
                    throw Error("control character in string");
                }

                if (stop < 0)
                {
                    _position = _input.Length;
                    throw Error("unterminated string");
                }

                _position += stop;
                if (_input[_position] == '"')
                {
                    _position++;
                    return;
                }

                _position++; // backslash
                switch (Next())
                {
                    case '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't':
                        break;
                    case 'u':
                        ReadHex4();
                        break;
                    default:
                        _position--;
                        throw Error("invalid escape in string");
                }
            }
        }
    }
}
