using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Compare.Server.Storage.Sqlite;

/// <summary>
/// A statement prepared on an open connection's handle and run through SQLite's own API, for writes of many rows. Values
/// are bound from spans: text encoded to UTF-8 in one buffer the statement keeps, uint32 arrays as their little-endian
/// bytes. SqliteCommand allocates a UTF-8 copy of every string and boxes every value; at a thousand documents a batch
/// that was a third of the writer's time. SQLite copies what is bound (SQLITE_TRANSIENT), so the buffer is reused at once.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private byte[] _buffer = [];

    /// <summary>Prepares <paramref name="sql"/> (parameters ?1, ?2, ...) on <paramref name="connection"/>, which must be open.</summary>
    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    // Empty text and blobs are bound as such, not as NULL (SqliteStatementTests holds SQLitePCL to it).
    public void Bind(int index, string text)
    {
        Span<byte> buffer = Buffer(Encoding.UTF8.GetMaxByteCount(text.Length));
        Check(raw.sqlite3_bind_text(_statement, index, buffer[..Encoding.UTF8.GetBytes(text, buffer)]));
    }

    /// <summary>Binds <paramref name="values"/> as a blob of little-endian uint32s, on every machine.</summary>
    public void Bind(int index, ReadOnlySpan<uint> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            Check(raw.sqlite3_bind_blob(_statement, index, MemoryMarshal.AsBytes(values)));
            return;
        }

        Span<byte> bytes = Buffer(values.Length * sizeof(uint))[..(values.Length * sizeof(uint))];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[(i * sizeof(uint))..], values[i]);
        }

        Check(raw.sqlite3_bind_blob(_statement, index, bytes));
    }

    /// <summary>Runs the statement to its end and resets it for the next values, which may be bound again or left as they are.</summary>
    public void Run()
    {
        int result = raw.sqlite3_step(_statement);
        while (result == raw.SQLITE_ROW)
        {
            result = raw.sqlite3_step(_statement);
        }

        int reset = raw.sqlite3_reset(_statement);
        Check(result == raw.SQLITE_DONE ? reset : result);
    }

    /// <summary>
    /// Runs an INSERT (see <see cref="Run"/>) and returns the rowid of the row it inserted, or 0 when it inserted none (a
    /// conflict its ON CONFLICT DO NOTHING passed over). Not RETURNING: SQLite keeps a statement journal for a statement
    /// with RETURNING, a copy of every page it changes.
    /// </summary>
    public long Insert()
    {
        Run();
        return raw.sqlite3_changes(_db) == 0 ? 0 : raw.sqlite3_last_insert_rowid(_db);
    }

    public void Dispose()
    {
        _statement.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private Span<byte> Buffer(int size)
    {
        if (_buffer.Length < size)
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = []; // so that Dispose never returns it twice, should Rent throw
            _buffer = ArrayPool<byte>.Shared.Rent(size);
        }

        return _buffer;
    }

    private void Check(int result) => SqliteException.ThrowExceptionForRC(result, _db);
}
