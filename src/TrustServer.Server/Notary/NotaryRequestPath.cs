using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace TrustServer.Server.Notary;

/// <summary>
/// The request path as notary-server's Go HTTP server hands it to gorilla/mux (<c>URL.Path</c>): the raw request target
/// percent-decoded in full, <c>%2F</c> (any case) included, before path cleaning and route matching. Kestrel's
/// <see cref="HttpRequest.Path"/> differs in three ways that matter here: it keeps <c>%2F</c> encoded, it decodes
/// <c>%25</c> (so <c>%252F</c> and <c>%2F</c> would read alike) and it removes dot segments itself (so notary-server's
/// 301 for <c>/x/../y</c> would never happen). Checked against the real notary-server 0.7.0 by
/// <c>NotaryServerDifferentialTests</c>.
/// </summary>
internal static class NotaryRequestPath
{
    /// <summary>
    /// The decoded path and the raw query (with its <c>?</c>, empty when there is none); false when the target holds an
    /// invalid percent-escape (Go's server answers <c>400 Bad Request</c> before any handler runs). Bytes that are not
    /// UTF-8 decode to U+FFFD, which the GUN guard refuses (a GUN never aliases another one's bytes).
    /// </summary>
    public static bool TryRead(HttpContext context, out string path, out string query)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            // Absolute-form or asterisk-form targets (never sent by Notary clients): Kestrel's view.
            path = context.Request.Path.Value is { Length: > 0 } p ? p : "/";
            query = context.Request.QueryString.Value ?? string.Empty;
            return true;
        }

        var mark = raw.IndexOf('?', StringComparison.Ordinal);
        var encoded = mark < 0 ? raw : raw[..mark];
        query = mark < 0 ? string.Empty : raw[mark..];
        if (!encoded.Contains('%', StringComparison.Ordinal))
        {
            path = encoded;
            return true;
        }

        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(encoded.Length)];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c != '%')
            {
                length += Encoding.UTF8.GetBytes(encoded.AsSpan(i, 1), bytes.AsSpan(length));
                continue;
            }

            if (i + 2 >= encoded.Length || !Uri.IsHexDigit(encoded[i + 1]) || !Uri.IsHexDigit(encoded[i + 2]))
            {
                path = string.Empty;
                return false;
            }

            bytes[length++] = (byte)((Uri.FromHex(encoded[i + 1]) << 4) | Uri.FromHex(encoded[i + 2]));
            i += 2;
        }

        path = Encoding.UTF8.GetString(bytes, 0, length);
        return true;
    }

    /// <summary>
    /// Go's <c>url.URL.EscapedPath</c> of a cleaned path (the 301 <c>Location</c>): UTF-8 bytes other than letters,
    /// digits and <c>-_.~$&amp;+,/:;=@</c> as upper-case <c>%XX</c>.
    /// </summary>
    public static string Escape(string path)
    {
        if (path.All(IsKept))
        {
            return path;
        }

        var escaped = new StringBuilder(path.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(path))
        {
            if (b < 0x80 && IsKept((char)b))
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }

    private static bool IsKept(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '$' or '&' or '+' or ',' or '/' or ':' or ';' or '=' or '@';
}
