-- sonodiff: insert committed bridge segments into REAPER as they appear.
--
-- Watches the folder that `sonodiff bridge --out-dir DIR` writes to and inserts every new WAV on a
-- track named "sonodiff", at the next bar after the play cursor (or at the edit cursor when
-- stopped). Files are complete when they appear: the bridge writes to a hidden temporary name and
-- renames. Run it once to start watching (toolbar button lights up), run it again to stop.
--
-- Settings (Extensions > ReaScript, or edit below):
--   AT_NEXT_BAR  true: land on the next bar line; false: exactly at the playhead
--   POLL_SECONDS how often the folder is listed

local AT_NEXT_BAR = true
local POLL_SECONDS = 0.5
local TRACK_NAME = "sonodiff"
local SECTION = "sonodiff_bridge"

local sep = package.config:sub(1, 1)
local _, _, sectionID, cmdID = reaper.get_action_context()

-- Running again while a watcher is active stops it.
if reaper.GetExtState(SECTION, "running") == "1" then
  reaper.SetExtState(SECTION, "running", "0", false)
  return
end

local function ask_folder()
  local last = reaper.GetExtState(SECTION, "folder")
  if last == "" then last = reaper.GetProjectPath("") .. sep .. "sonodiff" end
  local ok, folder = reaper.GetUserInputs("sonodiff: folder to watch (--out-dir)", 1, "Folder:,extrawidth=300", last)
  if not ok or folder == "" then return nil end
  folder = folder:gsub("[/\\]+$", "")
  reaper.SetExtState(SECTION, "folder", folder, true)
  return folder
end

local folder = ask_folder()
if not folder then return end

local function list_wavs()
  local out = {}
  local i = 0
  -- Index -1 makes REAPER rescan the folder instead of answering from its cache.
  reaper.EnumerateFiles(folder, -1)
  while true do
    local name = reaper.EnumerateFiles(folder, i)
    if not name then break end
    -- Skip the bridge's hidden temporary files; take finished .wav files only.
    if name:sub(1, 1) ~= "." and name:lower():match("%.wav$") then out[#out + 1] = name end
    i = i + 1
  end
  table.sort(out) -- names start with a run stamp and the bar number: sorted = committed order
  return out
end

local function sonodiff_track()
  for i = 0, reaper.CountTracks(0) - 1 do
    local tr = reaper.GetTrack(0, i)
    local _, name = reaper.GetTrackName(tr)
    if name == TRACK_NAME then return tr end
  end
  local idx = reaper.CountTracks(0)
  reaper.InsertTrackAtIndex(idx, true)
  local tr = reaper.GetTrack(0, idx)
  reaper.GetSetMediaTrackInfo_String(tr, "P_NAME", TRACK_NAME, true)
  return tr
end

local function insert_position()
  local playing = reaper.GetPlayState() & 1 == 1
  local pos = playing and reaper.GetPlayPosition() or reaper.GetCursorPosition()
  if not AT_NEXT_BAR then return pos end
  local _, measures = reaper.TimeMap2_timeToBeats(0, pos)
  local bar = reaper.TimeMap2_beatsToTime(0, 0, measures)
  if bar < pos - 1e-9 then bar = reaper.TimeMap2_beatsToTime(0, 0, measures + 1) end
  return bar
end

local function insert(name)
  local path = folder .. sep .. name
  local track = sonodiff_track()
  local cursor = reaper.GetCursorPosition()
  reaper.Undo_BeginBlock()
  reaper.SetOnlyTrackSelected(track)
  reaper.SetEditCurPos(insert_position(), false, false)
  -- Mode 0: add to the selected track at the edit cursor.
  reaper.InsertMedia(path, 0)
  reaper.SetEditCurPos(cursor, false, false)
  reaper.Undo_EndBlock("sonodiff: insert " .. name, -1)
  reaper.UpdateArrange()
end

-- Files already there when the watcher starts are not inserted.
local seen = {}
for _, name in ipairs(list_wavs()) do seen[name] = true end

reaper.SetExtState(SECTION, "running", "1", false)
if sectionID and cmdID and cmdID > 0 then
  reaper.SetToggleCommandState(sectionID, cmdID, 1)
  reaper.RefreshToolbar2(sectionID, cmdID)
end

local next_poll = 0
local function loop()
  if reaper.GetExtState(SECTION, "running") ~= "1" then return end
  local now = reaper.time_precise()
  if now >= next_poll then
    next_poll = now + POLL_SECONDS
    for _, name in ipairs(list_wavs()) do
      if not seen[name] then
        seen[name] = true
        insert(name)
      end
    end
  end
  reaper.defer(loop)
end

reaper.atexit(function()
  reaper.SetExtState(SECTION, "running", "0", false)
  if sectionID and cmdID and cmdID > 0 then
    reaper.SetToggleCommandState(sectionID, cmdID, 0)
    reaper.RefreshToolbar2(sectionID, cmdID)
  end
end)

loop()
