using Compare.Server.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Compare.Server.Tests;

/// <summary>The raw statement the SQLite store writes rows with, read back through Microsoft.Data.Sqlite.</summary>
public sealed class SqliteStatementTests
{
    [Fact]
    public void Insert_StoresEachBoundValueAsSqliteCommandWouldRead_AndReturnsTheRowidOfEachRow()
    {
        using SqliteConnection connection = InMemoryWith("CREATE TABLE t(seq INTEGER PRIMARY KEY, n INTEGER NOT NULL, s TEXT NOT NULL, b BLOB NOT NULL)");
        (long N, string S, uint[] B)[] rows =
        [
            (long.MinValue, string.Empty, []),
            (-1, "Nur Sultan — Астана, 努尔苏丹 \U0001F600", [0, 1, 0x80000000, uint.MaxValue]),
            (long.MaxValue, new string('x', 100_000) + "é", [.. Enumerable.Range(0, 1000).Select(i => (uint)i * 2654435761u)]),
            (7, "a", [0x01020304]),
        ];
        var seqs = new List<long>();
        using (var insert = new SqliteStatement(connection, "INSERT INTO t(n, s, b) VALUES(?1, ?2, ?3)"))
        {
            foreach ((long n, string s, uint[] b) in rows)
            {
                insert.Bind(1, n);
                insert.Bind(2, s);
                insert.Bind(3, b);
                seqs.Add(insert.Insert());
            }
        }

        Assert.Equal([1, 2, 3, 4], seqs);
        using SqliteCommand read = connection.CreateCommand();
        read.CommandText = "SELECT n, s, b, typeof(s), typeof(b) FROM t ORDER BY seq";
        using SqliteDataReader reader = read.ExecuteReader();
        foreach ((long n, string s, uint[] b) in rows)
        {
            Assert.True(reader.Read());
            Assert.Equal(n, reader.GetInt64(0));
            Assert.Equal(s, reader.GetString(1));
            // Empty values are the empty text and blob, not NULL; a blob holds little-endian uint32s.
            Assert.Equal(("text", "blob"), (reader.GetString(3), reader.GetString(4)));
            Assert.Equal(b.SelectMany(v => new[] { (byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24) }).ToArray(), (byte[])reader.GetValue(2));
        }

        Assert.False(reader.Read());
    }

    [Fact]
    public void Run_ThatFailsAConstraint_ThrowsTheSqliteErrorAndTheStatementRunsAgainAfter()
    {
        using SqliteConnection connection = InMemoryWith("CREATE TABLE t(id TEXT PRIMARY KEY)");
        using var insert = new SqliteStatement(connection, "INSERT INTO t(id) VALUES(?1)");
        insert.Bind(1, "a");
        insert.Run();
        insert.Bind(1, "a");
        SqliteException e = Assert.Throws<SqliteException>(() => insert.Run());
        Assert.Equal(19, e.SqliteErrorCode); // SQLITE_CONSTRAINT
        insert.Bind(1, "b");
        insert.Run();
        Assert.Equal("a,b", Scalar(connection, "SELECT group_concat(id, ',') FROM t"));
    }

    [Fact]
    public void Insert_PassedOverByOnConflictDoNothing_ReturnsZero_AndRunsAgainWithTheSameBindings()
    {
        using SqliteConnection connection = InMemoryWith("CREATE TABLE t(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, v INTEGER NOT NULL)");
        using var insert = new SqliteStatement(connection, "INSERT INTO t(id, v) VALUES(?1, ?2) ON CONFLICT(id) DO NOTHING");
        using var delete = new SqliteStatement(connection, "DELETE FROM t WHERE id = ?1");
        insert.Bind(1, "a");
        insert.Bind(2, 1);
        Assert.Equal(1, insert.Insert());
        insert.Bind(1, "b");
        Assert.Equal(2, insert.Insert());
        insert.Bind(1, "a");
        insert.Bind(2, 3);
        Assert.Equal(0, insert.Insert());
        delete.Bind(1, "a");
        delete.Run();
        Assert.Equal(3, insert.Insert());
        Assert.Equal("2:b=1,3:a=3", Scalar(connection, "SELECT group_concat(seq || ':' || id || '=' || v, ',') FROM (SELECT * FROM t ORDER BY seq)"));
    }

    /// <summary>An open in-memory database holding one table, made by <paramref name="createTable"/>.</summary>
    private static SqliteConnection InMemoryWith(string createTable)
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        Execute(connection, createTable);
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
