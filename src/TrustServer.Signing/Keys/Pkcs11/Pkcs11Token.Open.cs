using System.Formats.Asn1;
using System.Reflection;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys.Pkcs11;

/// <summary>Opening the token (module, slot, PIN), the loaded modules of the process, and reading public keys.</summary>
public sealed partial class Pkcs11Token
{
    private Connection OpenConnection(int generation)
    {
        var path = _options.Library ?? throw new Pkcs11TokenException("Keys:Pkcs11:Library is not set");
        if (!File.Exists(path))
        {
            throw new Pkcs11TokenException($"the PKCS#11 module {path} (Keys:Pkcs11:Library) does not exist");
        }

        var library = Modules.Get(path, _factories);

        try
        {
            var slot = FindSlot(library);
            var tokenInfo = slot.GetTokenInfo();
            var mechanisms = slot.GetMechanismList();
            var supportsEd25519 = mechanisms.Contains(CkmEcEdwardsKeyPairGen) && mechanisms.Contains(CkmEddsa);
            var pin = _options.ReadPin();

            // Log in once now so that a wrong PIN stops the start; sessions opened later log in again if needed.
            var session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                Login(session, pin);
            }
            catch
            {
                CloseQuietly(session);
                throw;
            }

            _idle.Add(new PooledSession(session, generation));
            var connection = new Connection(library, slot, tokenInfo.Label.Trim(), supportsEd25519, generation, pin);
            LogTokenOpened(_logger, connection.TokenLabel, slot.SlotId, path, supportsEd25519);
            return connection;
        }
        catch (Exception ex)
        {
            if (ex is Pkcs11Exception { RV: CKR.CKR_CRYPTOKI_NOT_INITIALIZED })
            {
                // Finalized behind our back: initialize it again for the next attempt.
                Modules.Reinitialize(library);
            }

            throw ex switch
            {
                Pkcs11TokenException => ex,
                Pkcs11Exception { RV: CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE } =>
                    new Pkcs11TokenException($"the PKCS#11 token refused the PIN ({((Pkcs11Exception)ex).RV}): check Keys:Pkcs11:PinFile or {Pkcs11Options.PinVariable}", ex),
                Pkcs11Exception { RV: CKR.CKR_PIN_LOCKED } =>
                    new Pkcs11TokenException("the PKCS#11 token's user PIN is locked (CKR_PIN_LOCKED)", ex),
                Pkcs11Exception p11 => new Pkcs11TokenException($"the PKCS#11 token cannot be opened: {p11.Method} returned {p11.RV}", ex),
                _ => new Pkcs11TokenException($"the PKCS#11 token cannot be opened: {OneLine(ex.Message)}", ex),
            };
        }
    }

    private ISlot FindSlot(IPkcs11Library library)
    {
        var slots = library.GetSlotList(SlotsType.WithTokenPresent);
        if (_options.SlotNumber is { } slotId)
        {
            return slots.FirstOrDefault(s => s.SlotId == slotId)
                ?? throw new Pkcs11TokenException($"no token in slot {slotId} (Keys:Pkcs11:SlotId) of {_options.Library}");
        }

        var label = _options.TokenLabel?.Trim();
        return slots.FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == label)
            ?? throw new Pkcs11TokenException($"no token labelled '{label}' (Keys:Pkcs11:TokenLabel) in {_options.Library}");
    }

    /// <summary>The TUF public key bytes from a <c>CKA_EC_POINT</c> (DER OCTET STRING, or the raw point as some modules return it).</summary>
    internal static byte[] PublicKeyBytes(string algorithm, byte[] point)
    {
        var raw = algorithm == KeyType.Ecdsa ? 65 : 32;
        if (point.Length != raw)
        {
            point = new AsnReader(point, AsnEncodingRules.DER).ReadOctetString();
        }

        if (algorithm == KeyType.Ed25519)
        {
            return point.Length == 32 ? point : throw new Pkcs11TokenException($"the token returned a {point.Length}-byte Ed25519 public key");
        }

        if (point.Length != 65 || point[0] != 0x04)
        {
            throw new Pkcs11TokenException("the token returned an EC point that is not an uncompressed P-256 point");
        }

        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..] },
        });
        return key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>
    /// The loaded modules, one per path for the whole process: PKCS#11 initialization is per process, so two clients of
    /// one module (the server and a signer in one test process) must share it, and finalizing it would break the other.
    /// A module is never unloaded: an instance that is replaced (after someone finalized the module) keeps valid entry
    /// points for the clients still holding it.
    /// </summary>
    private static class Modules
    {
        private static readonly Lock Gate = new();
        private static readonly Dictionary<string, (IPkcs11Library Library, Pkcs11InteropFactories Factories)> Loaded = new(StringComparer.Ordinal);

        public static IPkcs11Library Get(string path, Pkcs11InteropFactories factories)
        {
            lock (Gate)
            {
                if (Loaded.TryGetValue(path, out var loaded))
                {
                    return loaded.Library;
                }

                var library = Load(path, factories);
                Loaded[path] = (library, factories);
                return library;
            }
        }

        // C_Initialize again (a new instance over the same loaded module) unless another client already did.
        public static void Reinitialize(IPkcs11Library failed)
        {
            lock (Gate)
            {
                foreach (var (path, loaded) in Loaded)
                {
                    if (ReferenceEquals(loaded.Library, failed))
                    {
                        // Forgotten first: when loading fails now, the next Get tries again.
                        Loaded.Remove(path);
                        Loaded[path] = (Load(path, loaded.Factories), loaded.Factories);
                        return;
                    }
                }
            }
        }

        private static IPkcs11Library Load(string path, Pkcs11InteropFactories factories)
        {
            try
            {
                return factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, path, AppType.MultiThreaded);
            }
            catch (Exception ex) when (ex is Pkcs11Exception or UnmanagedException or DllNotFoundException or BadImageFormatException)
            {
                throw new Pkcs11TokenException($"the PKCS#11 module {path} (Keys:Pkcs11:Library) cannot be loaded: {OneLine(ex.Message)}", ex);
            }
        }
    }

    /// <summary>
    /// Pkcs11Interop 5 imports <c>dlopen</c> from "libdl", which glibc systems without development packages only have
    /// as <c>libdl.so.2</c> (since glibc 2.34 <c>dlopen</c> is in libc itself): resolve the name to what exists.
    /// </summary>
    private static class NativeDl
    {
        public static void Resolve()
        {
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, Load);
            }
            catch (InvalidOperationException)
            {
                // A resolver is already set for the assembly (by the host): leave it.
            }
        }

        private static IntPtr Load(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != "libdl" || !OperatingSystem.IsLinux())
            {
                return IntPtr.Zero;
            }

            foreach (var candidate in new[] { "libdl.so", "libdl.so.2", "libc.so.6" })
            {
                if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
                {
                    return handle;
                }
            }

            return IntPtr.Zero;
        }
    }
}
